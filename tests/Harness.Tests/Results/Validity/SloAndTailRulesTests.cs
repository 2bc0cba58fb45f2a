using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Measurement;
using Harness.Results.Validity;
using Harness.Validity;

namespace Harness.Tests.Results.Validity;

/// <summary>The SLO condition, the tail-sample condition with misses, and the overload condition.</summary>
public class SloAndTailRulesTests
{
    private const long Hz = 1_000_000_000;

    [Theory]
    [InlineData(459, true)]
    [InlineData(458, false)]
    public void With_no_miss_p99_needs_459_requests(int n, bool passed)
    {
        EngineResult run = Run(Enumerable.Repeat(10.0, n), slos: "p99<50ms");

        ValidityCondition c = new TailSamplesRule().Evaluate(run);

        Assert.Equal("enough_samples_p99", c.Name);
        Assert.Equal(passed, c.Passed);
    }

    [Theory]
    [InlineData(661, false)]
    [InlineData(662, true)]
    public void One_request_over_the_slo_limit_raises_the_bound_to_662(int n, bool passed)
    {
        var latencies = Enumerable.Repeat(10.0, n - 1).Append(80.0);
        EngineResult run = Run(latencies, slos: "p99<50ms");

        ValidityCondition c = new TailSamplesRule().Evaluate(run);

        Assert.Equal(passed, c.Passed);
        Assert.Contains("1 over 50 ms", c.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Timeouts_are_misses_even_without_an_slo()
    {
        EngineResult run = Run(Enumerable.Repeat(10.0, 600), timeouts: 1, scenario: ClosedLoopScenario.Concurrency(2));

        ValidityCondition c = new TailSamplesRule().Evaluate(run);

        Assert.False(c.Passed); // 601 requests, one miss: 662 needed
        Assert.Contains("662 needed", c.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void More_misses_than_the_percentile_allows_fail_at_any_count()
    {
        var latencies = Enumerable.Repeat(10.0, 9_800).Concat(Enumerable.Repeat(90.0, 200));
        EngineResult run = Run(latencies, slos: "p99<50ms");

        ValidityCondition c = new TailSamplesRule().Evaluate(run);

        Assert.False(c.Passed);
        Assert.Contains("cannot be met", c.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_latency_slo_sets_the_tail_percentile_when_none_is_given()
    {
        EngineResult run = Run(Enumerable.Repeat(1.0, 100), slos: "p90<5ms");

        Assert.Equal("enough_samples_p90", new TailSamplesRule().Evaluate(run).Name);
    }

    [Fact]
    public void Slo_passes_when_every_percentile_is_within_its_limit()
    {
        double[] latencies = Enumerable.Range(1, 100).Select(i => (double)i).ToArray(); // p99 = 99 ms

        Assert.True(new SloRule().Evaluate(Run(latencies, slos: "p99<=99ms")).Passed);
        ValidityCondition failed = new SloRule().Evaluate(Run(latencies, slos: "p99<98ms,p50<60ms"));
        Assert.False(failed.Passed);
        Assert.Contains("latency p99 99 ms > 98 ms", failed.Detail, StringComparison.Ordinal);
        Assert.Contains("latency p50 50 ms <= 60 ms", failed.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Slo_on_a_metric_without_samples_fails_and_says_why()
    {
        ValidityCondition c = new SloRule().Evaluate(Run([5, 6, 7], slos: "ttft_p99<100ms"));

        Assert.False(c.Passed);
        Assert.Contains("no ttft samples", c.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_an_slo_the_slo_condition_passes_and_says_so()
    {
        ValidityCondition c = new SloRule().Evaluate(Run([5]));

        Assert.True(c.Passed);
        Assert.Equal("no SLO given", c.Detail);
    }

    [Fact]
    public void An_overloaded_open_loop_run_is_invalid()
    {
        Assert.False(new NotOverloadedRule().Evaluate(Run([5], stop: StopReason.Overloaded)).Passed);
        Assert.True(new NotOverloadedRule().Evaluate(Run([5])).Passed);
    }

    [Fact]
    public void Default_rules_include_the_new_conditions()
    {
        var names = DefaultValidityRules.Evaluate(Run([5], slos: "p50<10ms")).Select(c => c.Name).ToList();

        Assert.Contains("slo", names);
        Assert.Contains("not_overloaded", names);
    }

    private static EngineResult Run(IEnumerable<double> latencyMs, long timeouts = 0, string? slos = null, IScenario? scenario = null, StopReason stop = StopReason.Completed)
    {
        var latency = new SampleRecorder(Hz);
        long ok = 0;
        foreach (double ms in latencyMs)
        {
            latency.Record((long)(ms * 1_000_000));
            ok++;
        }

        return new EngineResult
        {
            Workload = new WorkloadDescription("samples", 1, 1, new Dictionary<string, object?>()),
            Settings = new RunSettings
            {
                Scenario = scenario ?? ClosedLoopScenario.Single,
                Slos = slos is null ? [] : ServiceLevelObjective.ParseList(slos),
            },
            StartedUtc = DateTime.UtcNow,
            WindowStart = 0,
            WindowEnd = 30 * Hz,
            Frequency = Hz,
            WallWindow = TimeSpan.FromSeconds(30),
            StopReason = stop,
            WarmupRequests = 0,
            Latency = latency,
            TimeToFirstToken = new SampleRecorder(Hz),
            TimePerOutputToken = new SampleRecorder(Hz),
            InterTokenLatency = new SampleRecorder(Hz),
            Outcomes = new RequestCounts(Ok: ok, Error: 0, Timeout: timeouts, Cancelled: 0),
            InputUnits = ok,
            OutputUnits = ok,
            Errors = new ErrorLog(),
        };
    }
}
