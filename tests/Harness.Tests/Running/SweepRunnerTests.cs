using Harness.Backends;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Results;
using Harness.Running;
using Harness.Testing;
using Harness.Validity;

namespace Harness.Tests.Running;

/// <summary>Multi-run jobs with a fake run function: files, the index after every point, cancellation, the search.</summary>
public class SweepRunnerTests
{
    [Fact]
    public void Each_point_is_written_as_it_finishes_with_the_index_updated_after_it()
    {
        using var dir = new SyntheticResults.TempFolder();
        var seenBefore = new List<int>();
        RunOutcome Run(RunRequest r)
        {
            // What the index says just before this point runs: every earlier point, already on disk.
            seenBefore.Add(SweepIndex.Read(dir.Path).Points.Count);
            return Fake(r, valid: true);
        }

        SweepOutcome o = SweepRunner.Run(Template(), SweepPlan.Rates(new PoissonScenario(10, 2), [10, 20, 40]), dir.Path, Run);

        Assert.Equal([0, 1, 2], seenBefore);
        SweepIndex index = SweepIndex.Read(dir.Path);
        Assert.Equal("complete", index.Status);
        Assert.Equal("rate", index.Kind);
        Assert.Equal(["rate-10", "rate-20", "rate-40"], index.Points.Select(p => p.Label));
        Assert.Equal([10.0, 20, 40], index.Points.Select(p => p.Rate!.Value));
        Assert.All(index.Points, p => Assert.True(File.Exists(Path.Combine(dir.Path, p.File))));
        Assert.Equal(["poisson:10:2", "poisson:20:2", "poisson:40:2"], index.Points.Select(p => p.Scenario));
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        Assert.Equal(3, ResultReader.Find(dir.Path).Count); // the index is not taken for a result
    }

    [Fact]
    public void A_cancelled_point_stops_the_sweep_and_the_index_says_so()
    {
        using var dir = new SyntheticResults.TempFolder();
        int calls = 0;

        SweepOutcome o = SweepRunner.Run(Template(), SweepPlan.Concurrencies([1, 2, 4, 8]), dir.Path,
            r => Fake(r, valid: true, cancelled: ++calls == 2));

        Assert.Equal(2, calls);
        Assert.Equal("cancelled", SweepIndex.Read(dir.Path).Status);
        Assert.Equal(2, SweepIndex.Read(dir.Path).Points.Count);
        Assert.Equal(ExitCodes.Invalid, o.ExitCode);
    }

    [Fact]
    public void An_invalid_point_makes_the_sweep_exit_1_but_every_point_runs()
    {
        using var dir = new SyntheticResults.TempFolder();

        SweepOutcome o = SweepRunner.Run(Template(), SweepPlan.Repeats(ClosedLoopScenario.Single, 3), dir.Path,
            r => Fake(r, valid: !r.OutputPath!.EndsWith("run-02.json", StringComparison.Ordinal)));

        Assert.Equal(["run-01", "run-02", "run-03"], o.Index.Points.Select(p => p.Label));
        Assert.Equal(ExitCodes.Invalid, o.ExitCode);
    }

    [Fact]
    public void A_batch_point_that_does_not_fit_is_recorded_as_failed_and_the_sweep_goes_on()
    {
        using var dir = new SyntheticResults.TempFolder();
        var batches = new List<int>();
        RunOutcome Run(RunRequest r)
        {
            batches.Add(r.Settings.Batch);
            return r.Settings.Batch > 32 ? throw HarnessException.BadInput($"batch {r.Settings.Batch} needs more memory than the device has") : Fake(r, valid: true);
        }

        SweepOutcome o = SweepRunner.Run(Template(), SweepPlan.Batches(ClosedLoopScenario.Single, [1, 64, 16]), dir.Path, Run);

        Assert.Equal([1, 64, 16], batches);
        SweepIndex index = SweepIndex.Read(dir.Path);
        Assert.Equal(["batch-1", "batch-64", "batch-16"], index.Points.Select(p => p.Label));
        Assert.Equal([1, 64, 16], index.Points.Select(p => p.Batch));
        SweepIndexEntry failed = index.Points[1];
        Assert.False(failed.Valid);
        Assert.Equal("batch 64 needs more memory than the device has", failed.Error);
        Assert.Null(index.Points[2].Error);
        Assert.Equal(2, o.Runs.Count);
        Assert.Equal(ExitCodes.Invalid, o.ExitCode);
    }

    [Fact]
    public void When_every_point_fails_the_first_failure_is_the_answer()
    {
        using var dir = new SyntheticResults.TempFolder();
        var e = Assert.Throws<HarnessException>(() => SweepRunner.Run(Template(), SweepPlan.Batches(ClosedLoopScenario.Single, [64, 128]), dir.Path,
            r => throw HarnessException.BadInput($"batch {r.Settings.Batch} does not fit")));
        Assert.Equal("batch 64 does not fit", e.Message);
        Assert.Equal(2, SweepIndex.Read(dir.Path).Points.Count(p => p.Error is not null));
    }

    [Fact]
    public void The_slo_search_records_every_try_and_the_peak()
    {
        using var dir = new SyntheticResults.TempFolder();
        RunRequest template = Template(slo: "p99<50ms");

        SweepOutcome o = SweepRunner.FindPeak(template, new PoissonScenario(10), 0.05, 20, dir.Path,
            r => Fake(r, valid: ((PoissonScenario)r.Settings.Scenario).Rate <= 37));

        SweepIndex index = SweepIndex.Read(dir.Path);
        Assert.Equal("slo_search", index.Kind);
        Assert.Equal(["latency_p99<=50ms"], index.Slo);
        Assert.NotNull(index.Search);
        Assert.InRange(index.Search.PeakRate!.Value, 37 / 1.05, 37);
        Assert.True(File.Exists(Path.Combine(dir.Path, index.Search.PeakFile!)));
        Assert.True(index.Search.Converged);
        Assert.Equal(index.Points.Count, Directory.GetFiles(dir.Path, "search-*.json").Length);
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
    }

    [Fact]
    public void The_slo_search_stops_when_a_point_fails_for_a_reason_the_rate_does_not_decide()
    {
        using var dir = new SyntheticResults.TempFolder();
        int calls = 0;

        SweepOutcome o = SweepRunner.FindPeak(Template(slo: "p99<50ms"), new PoissonScenario(10), 0.05, 20, dir.Path,
            r => Fake(r, valid: false, failing: ++calls == 1 ? "min_duration" : "slo"));

        Assert.Equal(1, calls);
        Assert.Equal(ExitCodes.Invalid, o.ExitCode);
        Assert.Null(o.Index.Search!.PeakRate);
        Assert.Contains("min_duration: fake detail", o.Index.Search.Detail, StringComparison.Ordinal);
        Assert.Contains("lengthen --duration", o.Index.Search.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_slo_search_without_an_slo_is_bad_input()
    {
        using var dir = new SyntheticResults.TempFolder();

        var e = Assert.Throws<HarnessException>(() => SweepRunner.FindPeak(Template(), new PoissonScenario(10), 0.05, 10, dir.Path, r => Fake(r, true)));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
    }

    private static RunRequest Template(string? slo = null) => new(
        "resnet18",
        BackendSpec.Parse("onnx:cpu"),
        new WorkloadOptions(),
        new RunSettings { Scenario = ClosedLoopScenario.Single, Slos = slo is null ? [] : ServiceLevelObjective.ParseList(slo) },
        OutputPath: null);

    /// <summary>Writes a synthetic result where the runner would, as BenchmarkRunner does.</summary>
    /// <param name="failing">The condition that fails when the point is invalid.</param>
    private static RunOutcome Fake(RunRequest r, bool valid, bool cancelled = false, string failing = "slo")
    {
        ResultDocument doc = SyntheticResults.Make([1, 2, 3], scenario: r.Settings.Scenario.Name, valid: valid);
        doc.Cancelled = cancelled;
        doc.Validity = [new ValidityCondition(failing, valid, "fake detail")];
        AtomicFile.WriteAllText(r.OutputPath!, ResultJson.Serialize(doc));
        return new RunOutcome(doc, r.OutputPath!, valid ? ExitCodes.Ok : ExitCodes.Invalid);
    }
}
