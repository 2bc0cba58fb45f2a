using Harness.Results;
using Harness.Running;
using Harness.Testing;

namespace Harness.Cli.Tests.Commands;

/// <summary><c>harness run</c>'s multi-run modes: bad combinations, and real short sweeps of ResNet-18.</summary>
public class RunSweepCommandTests
{
    // Short runs that cannot be valid anywhere (p99.9 needs 4,603 requests): exit 1 is certain.
    private static readonly string[] Short = ["--duration", "0.5s", "--max-duration", "1s", "--warmup", "0s", "--min-requests", "3", "--threads", "1", "--tail", "p99.9"];

    [Theory]
    [InlineData("--sweep-rate 10,20 --repeat 3", "--sweep-rate, --sweep-concurrency, --sweep-batch, --repeat and --slo-search cannot be combined; choose one.")]
    [InlineData("--sweep-rate 10,x", "--sweep-rate '10,x' has 'x', which is not a number; give a comma-separated list such as 1,2,4.")]
    [InlineData("--sweep-concurrency 0,2", "--sweep-concurrency '0,2' has '0', which is out of range.")]
    [InlineData("--sweep-rate 10 --scenario concurrency:2", "--sweep-rate varies the arrival rate of a poisson scenario, but --scenario is 'concurrency:2'; use --scenario poisson:RATE[:WORKERS] or leave it out.")]
    [InlineData("--slo-search --slo p99<50ms", "--slo-search starts from the rate of a poisson scenario: add --scenario poisson:RATE (a rate the system should meet).")]
    [InlineData("--slo-search --scenario poisson:5", "--slo-search needs an objective: add --slo, e.g. --slo \"p99<50ms\".")]
    [InlineData("--slo p99<50", "--slo 'p99<50' is not an objective; expected [latency|ttft|tpot][_:]pNN<VALUE(ms|s|us), e.g. p99<50ms or ttft_p99<500ms; comma-separated for several.")]
    [InlineData("--repeat 0", "--repeat must lie between 1 and 1000.")]
    [InlineData("--repeat 2 --out x.json", "--out 'x.json' looks like a file, but a repeat job writes several files: give a folder.")]
    [InlineData("--scenario poisson:0", "Scenario 'poisson:0' needs an arrival rate in requests per second above 0 and up to 1000000, e.g. poisson:50 or poisson:50:8 (rate 50/s, 8 workers).")]
    public void Bad_combinations_are_one_sentence_and_exit_2_before_anything_runs(string extra, string sentence)
    {
        using var dir = new SyntheticResults.TempFolder();
        var args = new List<string> { "run", "resnet18", "--results-dir", dir.Path };
        args.AddRange(extra.Split(' '));

        var (code, output, error) = CliRunner.Run(args.ToArray());

        Assert.Equal(2, code);
        Assert.Equal("harness: " + sentence, error.Trim());
        Assert.Equal("", output);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.json", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_concurrency_sweep_writes_each_point_and_an_index()
    {
        using var dir = new SyntheticResults.TempFolder();
        string folder = Path.Combine(dir.Path, "sweep");

        var (code, output, error) = CliRunner.Run(["run", "resnet18", "--sweep-concurrency", "1,2", "--out", folder, .. Short]);

        Assert.Equal(1, code);
        Assert.Contains("harness: concurrency:1: INVALID", error, StringComparison.Ordinal);
        Assert.Contains("| concurrency-2 | concurrency:2 | INVALID |", output, StringComparison.Ordinal);
        SweepIndex index = SweepIndex.Read(folder);
        Assert.Equal(("concurrency", "complete"), (index.Kind, index.Status));
        Assert.Equal([1, 2], index.Points.Select(p => p.Workers));
        foreach (SweepIndexEntry p in index.Points)
        {
            ResultDocument doc = ResultReader.ReadDocument(Path.Combine(folder, p.File));
            Assert.Equal(p.Scenario, doc.Scenario);
            Assert.Equal("concurrency", doc.Config["sweep_kind"]?.ToString());
        }
    }

    [Fact]
    public void Repeated_runs_feed_compare()
    {
        using var dir = new SyntheticResults.TempFolder();
        string folder = Path.Combine(dir.Path, "repeat");

        var (runCode, _, _) = CliRunner.Run(["run", "resnet18", "--repeat", "2", "--out", folder, "--slo", "p50<10s", SharedMachine.AllowNoisy, .. Short]);
        var (compareCode, output, _) = CliRunner.Run("compare", folder, folder);

        Assert.Equal(1, runCode);
        Assert.Equal(["run-01.json", "run-02.json"], Directory.GetFiles(folder, "run-*.json").Select(Path.GetFileName).Order());
        Assert.NotNull(ResultReader.ReadDocument(Path.Combine(folder, "run-01.json")).Metrics.Extra?["goodput_per_s"]);
        AssertMatchesSchema(Path.Combine(folder, "run-01.json"));
        // Half-second runs hold too few requests for a tail: inconclusive, never a pass.
        Assert.Equal(3, compareCode);
        Assert.Contains("459 needed for its latency_p99", output, StringComparison.Ordinal);
    }

    /// <summary>A result with the new fields (goodput, slo, the slo condition) still matches the committed schema.</summary>
    private static void AssertMatchesSchema(string path)
    {
        IReadOnlyList<string> errors = ResultSchema.Validate(File.ReadAllText(path));
        Assert.True(errors.Count == 0, string.Join("; ", errors));
    }
}
