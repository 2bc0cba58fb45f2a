using System.Xml.Linq;
using Harness.Results;
using Harness.Testing;

namespace Harness.Cli.Tests.Commands;

/// <summary><c>harness compare</c>: exit codes 0/1/2/3, the sentences of bad input, and the report files.</summary>
public class CompareCommandTests
{
    [Fact]
    public void Identical_distributions_pass_with_exit_0()
    {
        using var dir = new SyntheticResults.TempFolder();
        (string b, string c) = Sides(dir.Path, slowdown: 1.0);

        var (code, output, error) = CliRunner.Run("compare", b, c);

        Assert.Equal(0, code);
        Assert.StartsWith("harness compare: pass", output, StringComparison.Ordinal);
        Assert.Contains("throughput", output, StringComparison.Ordinal);
        Assert.Equal("", error);
    }

    [Fact]
    public void A_regression_exits_1_and_writes_markdown_junit_and_html()
    {
        using var dir = new SyntheticResults.TempFolder();
        (string b, string c) = Sides(dir.Path, slowdown: 1.3);
        string md = Path.Combine(dir.Path, "gate.md");
        string junit = Path.Combine(dir.Path, "gate.xml");
        string html = Path.Combine(dir.Path, "gate.html");

        var (code, output, _) = CliRunner.Run("compare", b, Path.Combine(c, "*.json"), "--markdown", md, "--junit", junit, "--html", html);

        Assert.Equal(1, code);
        Assert.StartsWith("harness compare: REGRESSION", output, StringComparison.Ordinal);
        Assert.Contains("Performance gate: REGRESSION", File.ReadAllText(md), StringComparison.Ordinal);
        Assert.Equal("4", XDocument.Load(junit).Root!.Attribute("failures")!.Value);
        string page = File.ReadAllText(html);
        Assert.Contains("data-verdict=\"regression\"", page, StringComparison.Ordinal);
        Assert.Contains("data-chart=\"gate-verdicts\"", page, StringComparison.Ordinal);
    }

    [Fact]
    public void One_run_per_side_exits_3_saying_run_to_run_variance_was_not_measured()
    {
        using var dir = new SyntheticResults.TempFolder();
        var rng = new Random(1);
        string b = SyntheticResults.Write(dir.Path, "b.json", SyntheticResults.Make(SyntheticResults.LogNormal(rng, 500, 20, 0.1)));
        string c = SyntheticResults.Write(dir.Path, "c.json", SyntheticResults.Make(SyntheticResults.LogNormal(rng, 500, 26, 0.1)));

        var (code, output, _) = CliRunner.Run("compare", b, c);

        Assert.Equal(3, code);
        Assert.StartsWith("harness compare: inconclusive", output, StringComparison.Ordinal);
        Assert.Contains("run-to-run variance was not measured", output, StringComparison.Ordinal);
        Assert.Contains("runs per side would resolve a change of this size", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("different-workload", "harness: The results are of different workloads (base: resnet18; current: minilm); compare runs of the same workload.")]
    [InlineData("different-schema", "harness: Result file '{dir}/c.json' has schema version 2, newer than this harness reads (up to 1); read it with the harness that wrote it (test) or a newer one.")]
    [InlineData("truncated", "harness: Result file '{dir}/c.json' is not valid JSON at line 3, byte 28 (truncated or corrupt).")]
    [InlineData("unknown-metric", "harness: --threshold 'latency_p42=5%' names an unknown metric 'latency_p42'; known metrics: latency_p50, latency_p90, latency_p95, latency_p99, latency_p999, ttft_p50, ttft_p99, tpot_p50, tpot_p99, throughput, requests_per_s, goodput.")]
    [InlineData("not-a-percentage", "harness: --threshold 'latency_p99=5ms' is not a percentage; write METRIC=PCT such as latency_p99=5%.")]
    [InlineData("missing-file", "harness: The current path '{dir}/nope.json' is neither a file nor a folder.")]
    [InlineData("bad-alpha", "harness: --alpha 2 must lie in (0, 0.5], e.g. 0.05.")]
    [InlineData("unknown-metrics-option", "harness: Unknown metric 'p98'; known metrics: latency_p50, latency_p90, latency_p95, latency_p99, latency_p999, ttft_p50, ttft_p99, tpot_p50, tpot_p99, throughput, requests_per_s, goodput.")]
    public void Bad_input_is_one_sentence_and_exit_2(string problem, string sentence)
    {
        using var dir = new SyntheticResults.TempFolder();
        double[] s = SyntheticResults.LogNormal(new Random(2), 100, 20, 0.1);
        string b = SyntheticResults.Write(dir.Path, "b.json", SyntheticResults.Make(s));
        string c = SyntheticResults.Write(dir.Path, "c.json", SyntheticResults.Make(s, workload: problem == "different-workload" ? "minilm" : "resnet18"));
        if (problem == "different-schema")
        {
            File.WriteAllText(c, File.ReadAllText(c).Replace("\"schema_version\": 1", "\"schema_version\": 2", StringComparison.Ordinal));
        }

        if (problem == "truncated")
        {
            File.WriteAllText(c, string.Join('\n', File.ReadAllLines(c).Take(3)));
        }

        string[] args = problem switch
        {
            "unknown-metric" => ["compare", b, c, "--threshold", "latency_p42=5%"],
            "not-a-percentage" => ["compare", b, c, "--threshold", "latency_p99=5ms"],
            "missing-file" => ["compare", b, Path.Combine(dir.Path, "nope.json")],
            "bad-alpha" => ["compare", b, c, "--alpha", "2"],
            "unknown-metrics-option" => ["compare", b, c, "--metrics", "latency_p50,p98"],
            _ => ["compare", b, c],
        };

        var (code, output, error) = CliRunner.Run(args);

        Assert.Equal(2, code);
        Assert.Equal(sentence.Replace("{dir}", dir.Path, StringComparison.Ordinal), error.Trim());
        Assert.Equal("", output);
    }

    [Fact]
    public void A_missing_argument_is_a_parse_error_with_exit_2()
    {
        var (code, _, error) = CliRunner.Run("compare", "only-one.json");

        Assert.Equal(2, code);
        Assert.StartsWith("harness: ", error, StringComparison.Ordinal);
    }

    /// <summary>Five runs per side in two folders; the current side is slowed down by the factor.</summary>
    private static (string Base, string Current) Sides(string root, double slowdown)
    {
        var rng = new Random(42);
        string b = Directory.CreateDirectory(Path.Combine(root, "base")).FullName;
        string c = Directory.CreateDirectory(Path.Combine(root, "current")).FullName;
        for (int i = 1; i <= 5; i++)
        {
            double[] lb = SyntheticResults.LogNormal(rng, 600, 20, 0.15);
            double[] lc = SyntheticResults.LogNormal(rng, 600, 20 * slowdown, 0.15);
            SyntheticResults.Write(b, $"run-{i}.json", SyntheticResults.Make(lb, 1000 / lb.Average()));
            SyntheticResults.Write(c, $"run-{i}.json", SyntheticResults.Make(lc, 1000 / lc.Average()));
        }

        File.WriteAllText(Path.Combine(b, ResultReader.SweepIndexFileName), "{\"kind\": \"repeat\"}");
        return (b, c);
    }
}
