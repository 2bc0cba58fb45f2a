using Harness.Engine.Scenarios;
using Harness.Results.Validity;
using Harness.Tests.Fakes;
using Harness.Validity;

namespace Harness.Tests.Results.Validity;

public class ValidityRulesTests
{
    private static ValidityCondition Condition(Harness.Engine.EngineResult run, string prefix) =>
        DefaultValidityRules.Evaluate(run).Single(c => c.Name.StartsWith(prefix, StringComparison.Ordinal));

    [Fact]
    public void A_clean_run_passes_every_condition()
    {
        var run = Runs.Fake(requests: 200);
        Assert.All(DefaultValidityRules.Evaluate(run), c => Assert.True(c.Passed, $"{c.Name}: {c.Detail}"));
    }

    [Fact]
    public void Errors_fail_the_error_rate_unless_allowed()
    {
        Assert.False(Condition(Runs.Fake(fails: i => i == 50), "error_rate").Passed);
        Assert.True(Condition(Runs.Fake(fails: i => i == 50, maxErrorRate: 0.01), "error_rate").Passed);
    }

    [Fact]
    public void Too_few_requests_for_the_target_tail_fail()
    {
        // Single stream targets p90: 44 ok requests needed.
        var few = Runs.Fake(requests: 30, minDuration: TimeSpan.Zero);
        ValidityCondition c = Condition(few, "enough_samples_p90");
        Assert.False(c.Passed);
        Assert.Contains("44 needed", c.Detail, StringComparison.Ordinal);

        // Concurrency targets p99: 459.
        var conc = Runs.Fake(requests: 300, minDuration: TimeSpan.Zero, scenario: ClosedLoopScenario.Concurrency(2));
        Assert.False(Condition(conc, "enough_samples_p99").Passed);
        Assert.True(Condition(Runs.Fake(requests: 460, minDuration: TimeSpan.Zero, scenario: ClosedLoopScenario.Concurrency(2)), "enough_samples_p99").Passed);
    }

    [Fact]
    public void Offline_targets_no_tail()
    {
        var run = Runs.Fake(requests: 10, minDuration: TimeSpan.Zero, scenario: ClosedLoopScenario.Offline);
        Assert.True(Condition(run, "enough_samples").Passed);
    }

    [Fact]
    public void A_wall_clock_that_disagrees_with_the_monotonic_clock_fails()
    {
        var clock = new FakeClock();
        var run = Runs.Fake(requests: 200, minDuration: TimeSpan.FromSeconds(5), clock: clock);
        Assert.True(Condition(run, "clock").Passed);

        var skewed = new Harness.Engine.EngineResult
        {
            Workload = run.Workload, Settings = run.Settings, StartedUtc = run.StartedUtc, WindowStart = run.WindowStart,
            WindowEnd = run.WindowEnd, Frequency = run.Frequency, WallWindow = run.WallWindow * 1.05, MonotonicWindow = run.MonotonicWindow, StopReason = run.StopReason,
            WarmupRequests = run.WarmupRequests, Latency = run.Latency, TimeToFirstToken = run.TimeToFirstToken,
            TimePerOutputToken = run.TimePerOutputToken, InterTokenLatency = run.InterTokenLatency, Outcomes = run.Outcomes,
            InputUnits = run.InputUnits, OutputUnits = run.OutputUnits, Errors = run.Errors,
        };
        Assert.False(Condition(skewed, "clock").Passed);
    }

    [Fact]
    public void Short_runs_fail_min_duration_and_min_requests()
    {
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { Latency = _ => TimeSpan.FromSeconds(2) };
        var settings = new Harness.Engine.RunSettings
        {
            Scenario = ClosedLoopScenario.Single,
            Warmup = Harness.Engine.WarmupRule.None,
            Stop = new Harness.Engine.StopRules(TimeSpan.FromSeconds(30), 100, TimeSpan.FromSeconds(10)),
        };
        var run = new Harness.Engine.BenchmarkEngine(clock).Run(w, settings);
        Assert.False(Condition(run, "min_requests").Passed);
        Assert.False(Condition(run, "min_duration").Passed);
    }
}
