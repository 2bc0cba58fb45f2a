using System.Text.Json;
using Harness.Results;
using Harness.Running;
using Harness.Testing;

namespace Harness.Cli.Tests.Commands;

/// <summary><c>harness ab</c>: interleaved rounds of two configurations, gated; and its bad input.</summary>
public class AbCommandTests
{
    // Exactly 3 requests per run, however fast the machine: 6 samples per side can never reach a
    // verdict (a latency metric needs 30 per side, throughput 4 runs), so the gate is inconclusive
    // on any machine. A fixed duration would give a fast machine enough samples for a verdict.
    private const string Short = "--duration 0s --max-duration 1m --warmup 0s --min-requests 3";

    [Fact]
    public void Runs_the_sides_interleaved_alternating_who_goes_first_then_gates()
    {
        using var dir = new SyntheticResults.TempFolder();

        var (code, output, error) = CliRunner.Run(
            "ab", "--a", $"resnet18 --threads 1 {Short}", "--b", $"run resnet18 --threads 2 {Short}", "--rounds", "2", "--out", dir.Path);

        Assert.True(code == 3, $"exit {code}: {error}");
        Assert.StartsWith("harness compare: inconclusive", output, StringComparison.Ordinal);
        SweepIndex a = SweepIndex.Read(Path.Combine(dir.Path, "a"));
        SweepIndex b = SweepIndex.Read(Path.Combine(dir.Path, "b"));
        Assert.Equal(["round-01", "round-02"], a.Points.Select(p => p.Label));
        Assert.True(a.Points[0].FinishedUtc <= b.Points[0].FinishedUtc, "round 1 runs A first");
        Assert.True(b.Points[1].FinishedUtc <= a.Points[1].FinishedUtc, "round 2 runs B first");
        Assert.Equal(1, ResultReader.ReadDocument(Path.Combine(dir.Path, "a", "round-01.json")).Config["threads"] is JsonElement t ? t.GetInt32() : -1);
    }

    [Theory]
    [InlineData("resnet18", "minilm", "harness: A runs workload 'resnet18' and B runs 'minilm'; an A/B job compares two configurations of the same workload.")]
    [InlineData("resnet18 --bogus 1", "resnet18", "harness: --a \"resnet18 --bogus 1\": Unrecognized command or argument '--bogus'.")]
    [InlineData("resnet18 --scenario poisson:x", "resnet18", "harness: Scenario 'poisson:x' needs an arrival rate in requests per second above 0 and up to 1000000, e.g. poisson:50 or poisson:50:8 (rate 50/s, 8 workers).")]
    public void Bad_sides_are_one_sentence_and_exit_2(string a, string b, string sentence)
    {
        using var dir = new SyntheticResults.TempFolder();

        var (code, _, error) = CliRunner.Run("ab", "--a", a, "--b", b, "--out", dir.Path);

        Assert.Equal(2, code);
        Assert.Equal(sentence, error.Trim());
        Assert.Empty(Directory.GetFiles(dir.Path, "*.json", SearchOption.AllDirectories));
    }
}
