using Harness.Testing;

namespace Harness.Cli.Tests.Commands;

public class ReportCommandTests
{
    [Fact]
    public void Writes_one_html_file_from_files_and_folders()
    {
        using var dir = new SyntheticResults.TempFolder();
        var rng = new Random(3);
        string sweep = Directory.CreateDirectory(Path.Combine(dir.Path, "sweep")).FullName;
        foreach (int n in new[] { 1, 2 })
        {
            SyntheticResults.Write(sweep, $"concurrency-{n}.json", SyntheticResults.Make(SyntheticResults.LogNormal(rng, 300, 10 * n, 0.2), 100 * n, scenario: $"concurrency:{n}", workers: n));
        }

        string single = SyntheticResults.Write(dir.Path, "single.json", SyntheticResults.Make(SyntheticResults.LogNormal(rng, 300, 8, 0.2), 120));
        string html = Path.Combine(dir.Path, "out", "report.html");

        var (code, output, error) = CliRunner.Run("report", sweep, single, "--html", html, "--title", "CI run");

        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains("Report of 3 result(s)", output, StringComparison.Ordinal);
        string page = File.ReadAllText(html);
        Assert.Contains("<title>Harness report: CI run</title>", page, StringComparison.Ordinal);
        Assert.Contains("data-chart=\"throughput-scaling\"", page, StringComparison.Ordinal);
    }

    [Fact]
    public void Reads_an_agents_sweep_folder_and_prices_runs_with_an_instance()
    {
        using var dir = new SyntheticResults.TempFolder();
        string sweep = Path.Combine(Repository.Root, "tests", "fixtures", "report", "agents-sweep");
        string decoders = Directory.GetFiles(Repository.ResultFixtures, "torch-generate-llama-1b-b16.json", SearchOption.AllDirectories).Single();
        string html = Path.Combine(dir.Path, "report.html");

        var (code, output, error) = CliRunner.Run("report", sweep, decoders, "--instance", "aws/p5en.48xlarge", "--html", html);

        Assert.True(code == 0, error);
        Assert.Contains("Report of 4 result(s) and 1 agents sweep(s)", output, StringComparison.Ordinal);
        string page = File.ReadAllText(html);
        Assert.Contains("data-chart=\"agents-busy\"", page, StringComparison.Ordinal);
        Assert.Contains("aws/p5en.48xlarge", page, StringComparison.Ordinal);
        Assert.Contains("data-chart=\"ttft-cdf\"", page, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_result_is_bad_input_and_no_file_is_written()
    {
        using var dir = new SyntheticResults.TempFolder();
        string html = Path.Combine(dir.Path, "report.html");

        var (code, _, error) = CliRunner.Run("report", Path.Combine(dir.Path, "nope.json"), "--html", html);

        Assert.Equal(2, code);
        Assert.StartsWith("harness: The result path", error, StringComparison.Ordinal);
        Assert.False(File.Exists(html));
    }

    [Fact]
    public void The_html_option_is_required()
    {
        var (code, _, error) = CliRunner.Run("report", "x.json");

        Assert.Equal(2, code);
        Assert.Contains("--html", error, StringComparison.Ordinal);
    }
}
