using Harness.Backends;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Gate;
using Harness.Results;
using Harness.Running;
using Harness.Testing;

namespace Harness.Tests.Gate;

/// <summary>The A/B job with fake runs: interleaving order, the gate on its results, and confirm-by-rerun.</summary>
public class AbTestTests
{
    [Fact]
    public void Rounds_alternate_which_side_runs_first()
    {
        using var dir = new SyntheticResults.TempFolder();
        var order = new List<string>();

        AbTest.Run(Request(1), Request(2), new AbOptions(4, false, new GateOptions()), dir.Path, r =>
        {
            order.Add($"{Side(r)}{Path.GetFileNameWithoutExtension(r.OutputPath)![^1]}");
            return Fake(r, slowdown: 1.0);
        });

        Assert.Equal(["A1", "B1", "B2", "A2", "A3", "B3", "B4", "A4"], order);
    }

    [Fact]
    public void A_regression_that_repeats_on_the_rerun_fails()
    {
        using var dir = new SyntheticResults.TempFolder();

        AbOutcome o = AbTest.Run(Request(1), Request(2), new AbOptions(5, true, new GateOptions()), dir.Path,
            r => Fake(r, slowdown: Side(r) == "B" ? 1.3 : 1.0));

        Assert.Equal(GateVerdict.Regression, o.First.Verdict);
        Assert.NotNull(o.Confirmation);
        Assert.Equal(ExitCodes.Regression, o.ExitCode);
        Assert.True(Directory.Exists(Path.Combine(dir.Path, "b-confirm")));
    }

    [Fact]
    public void A_regression_that_does_not_repeat_on_the_rerun_does_not_fail()
    {
        using var dir = new SyntheticResults.TempFolder();

        // B is slow only in the first set of rounds (a noisy neighbour), not in the confirmation.
        AbOutcome o = AbTest.Run(Request(1), Request(2), new AbOptions(5, true, new GateOptions()), dir.Path,
            r => Fake(r, slowdown: Side(r) == "B" && !r.OutputPath!.Contains("confirm", StringComparison.Ordinal) ? 1.3 : 1.0));

        Assert.Equal(GateVerdict.Regression, o.First.Verdict);
        Assert.Equal(GateVerdict.Pass, o.Final.Verdict);
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
    }

    [Fact]
    public void Without_confirm_a_passing_job_runs_no_rerun()
    {
        using var dir = new SyntheticResults.TempFolder();
        int runs = 0;

        AbOutcome o = AbTest.Run(Request(1), Request(2), new AbOptions(5, true, new GateOptions()), dir.Path, r =>
        {
            runs++;
            return Fake(r, slowdown: 1.0);
        });

        Assert.Equal(10, runs);
        Assert.Null(o.Confirmation);
    }

    private static RunRequest Request(int threads) => new(
        "resnet18", BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = threads },
        new RunSettings { Scenario = ClosedLoopScenario.Single }, OutputPath: null);

    private static string Side(RunRequest r) => r.Options.Threads == 1 ? "A" : "B";

    private static RunOutcome Fake(RunRequest r, double slowdown)
    {
        string path = r.OutputPath!;
        // A seed from the path below the temporary folder ("a/round-01.json"): string.GetHashCode
        // changes from process to process.
        string stable = Path.GetRelativePath(Path.GetTempPath(), path).Split(Path.DirectorySeparatorChar, 2)[1];
        var rng = new Random(stable.Aggregate(17, (h, c) => unchecked(h * 31 + c)));
        double[] latencies = SyntheticResults.LogNormal(rng, 600, 20 * slowdown, 0.15);
        ResultDocument doc = SyntheticResults.Make(latencies, 1000 / latencies.Average());
        AtomicFile.WriteAllText(path, ResultJson.Serialize(doc));
        return new RunOutcome(doc, path, ExitCodes.Ok);
    }
}
