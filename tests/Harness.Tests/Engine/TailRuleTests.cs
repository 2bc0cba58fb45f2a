using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Results.Validity;
using Harness.Tests.Fakes;
using Harness.Validity;

namespace Harness.Tests.Engine;

/// <summary>
/// The tail rule as a stop rule: measuring goes on past the minimum duration until the tail percentiles have their samples.
/// </summary>
public class TailRuleTests
{
    private static RunSettings Settings(
        IScenario scenario, bool untilTail, TimeSpan? max = null, string? slo = null, double? tail = null) => new()
    {
        Scenario = scenario,
        Warmup = WarmupRule.None,
        Stop = new StopRules(TimeSpan.FromSeconds(1), 10, max ?? TimeSpan.FromMinutes(10), untilTail),
        Slos = slo is null ? [] : ServiceLevelObjective.ParseList(slo),
        TailPercentile = tail,
    };

    private static ValidityCondition Condition(EngineResult run, string prefix) =>
        DefaultValidityRules.Evaluate(run).Single(c => c.Name.StartsWith(prefix, StringComparison.Ordinal));

    [Fact]
    public void Measuring_goes_on_past_the_duration_until_the_tail_has_its_samples()
    {
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { Latency = _ => TimeSpan.FromMilliseconds(100) };
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(ClosedLoopScenario.Concurrency(1), untilTail: true));

        // 1 s at 100 ms is 10 requests; p99 needs 459.
        Assert.Equal(459, r.TotalRequests);
        Assert.Equal(StopReason.TailRule, r.StopReason);
        Assert.Equal(45.9, r.WindowSeconds, 6);
        Assert.Contains("tail rule: 459 latency samples for p99 (scenario concurrency:1), 459 measured", r.StopDetail,
            StringComparison.Ordinal);
        Assert.Contains("44.9 s past the minimum duration", r.StopDetail, StringComparison.Ordinal);
        Assert.True(Condition(r, "enough_samples_p99").Passed);
    }

    [Fact]
    public void Without_the_tail_rule_the_minimum_count_alone_stops_the_run()
    {
        // What an explicit --min-requests gives: the duration and the count, nothing more.
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { Latency = _ => TimeSpan.FromMilliseconds(100) };
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(ClosedLoopScenario.Concurrency(1), untilTail: false));

        Assert.Equal(10, r.TotalRequests);
        Assert.Equal(StopReason.Completed, r.StopReason);
        Assert.Equal("the minimum duration (1 s) and 10 requests reached", r.StopDetail);
        Assert.False(Condition(r, "enough_samples_p99").Passed);
    }

    [Fact]
    public void A_tail_already_met_at_the_duration_stops_there_and_says_so()
    {
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { Latency = _ => TimeSpan.FromMilliseconds(1) };
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(ClosedLoopScenario.Concurrency(1), untilTail: true));

        Assert.Equal(1000, r.TotalRequests);
        Assert.Equal(StopReason.Completed, r.StopReason);
        Assert.Contains("the tail rule already held (459 latency samples for p99 (scenario concurrency:1), 1000 measured)",
            r.StopDetail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_maximum_duration_bounds_the_wait_and_the_result_says_the_tail_rule_did_not_hold()
    {
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { Latency = _ => TimeSpan.FromMilliseconds(100) };
        RunSettings settings = Settings(ClosedLoopScenario.Concurrency(1), untilTail: true, max: TimeSpan.FromSeconds(20));
        EngineResult r = new BenchmarkEngine(clock).Run(w, settings);

        Assert.Equal(200, r.TotalRequests);
        Assert.Equal(StopReason.MaxDuration, r.StopReason);
        Assert.Equal(
            "max duration (20 s) reached before the tail rule held: 200 of 459 latency samples for p99 (scenario concurrency:1)",
            r.StopDetail);
        ValidityCondition tail = Condition(r, "enough_samples_p99");
        Assert.False(tail.Passed);
        Assert.Contains("459 needed", tail.Detail, StringComparison.Ordinal);
        Assert.True(Condition(r, "min_requests").Passed);
    }

    [Fact]
    public void Every_slo_percentile_is_waited_for_on_its_own_samples()
    {
        // Single stream targets p90 of latency (44 samples); the TTFT SLO at p99 needs 459 TTFT samples.
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { TokensPerRequest = 4, Latency = _ => TimeSpan.FromMilliseconds(100) };
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(ClosedLoopScenario.Single, untilTail: true, slo: "ttft_p99<5000ms"));

        Assert.Equal(459, r.TotalRequests);
        Assert.Equal(459, r.TimeToFirstToken.Count);
        Assert.Equal(StopReason.TailRule, r.StopReason);
        Assert.Contains("459 ttft samples for p99 (ttft SLO)", r.StopDetail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_token_objective_of_a_workload_without_tokens_is_not_waited_for()
    {
        // No TTFT sample would ever come: the run would only end at the maximum duration.
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { Latency = _ => TimeSpan.FromMilliseconds(100) };
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(ClosedLoopScenario.Single, untilTail: true, slo: "ttft_p99<5000ms"));

        Assert.Equal(44, r.TotalRequests);
        Assert.Contains("44 latency samples for p90 (scenario single)", r.StopDetail, StringComparison.Ordinal);
    }

    [Fact]
    public void Tpot_samples_come_only_from_requests_with_two_tokens_or_more()
    {
        // Every other request has a single token: no TPOT sample, so twice the requests for 459 TPOT samples.
        var clock = new FakeClock();
        var w = new AlternatingTokens(clock);
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(ClosedLoopScenario.Single, untilTail: true, slo: "tpot_p99<100ms"));

        Assert.Equal(459, r.TimePerOutputToken.Count);
        Assert.InRange(r.TotalRequests, 917, 918);
        Assert.Contains("459 tpot samples for p99 (tpot SLO)", r.StopDetail, StringComparison.Ordinal);
    }

    [Fact]
    public void An_explicit_tail_is_the_only_percentile_waited_for()
    {
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { TokensPerRequest = 4, Latency = _ => TimeSpan.FromMilliseconds(100) };
        RunSettings settings = Settings(ClosedLoopScenario.Concurrency(1), untilTail: true, slo: "ttft_p99<5000ms", tail: 0.9);
        EngineResult r = new BenchmarkEngine(clock).Run(w, settings);

        Assert.Equal(44, r.TotalRequests);
        Assert.Contains("44 latency samples for p90 (--tail)", r.StopDetail, StringComparison.Ordinal);
        Assert.True(Condition(r, "enough_samples_p90").Passed);
    }

    [Fact]
    public void Misses_raise_the_count_as_they_raise_the_validity_bound()
    {
        // Three requests over the latency SLO's limit: p99 then needs more than 459, and the engine
        // waits for exactly the bound the validity rule judges by.
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { Latency = i => TimeSpan.FromMilliseconds(i is 5 or 100 or 300 ? 80 : 10) };
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(ClosedLoopScenario.Concurrency(1), untilTail: true, slo: "p99<50ms"));

        long bound = TailRule.Needed(0.99, 3);
        Assert.True(bound > 459);
        Assert.Equal(bound, r.TotalRequests);
        Assert.Contains($"{bound} latency samples for p99 (latency SLO)", r.StopDetail, StringComparison.Ordinal);
        Assert.True(Condition(r, "enough_samples_p99").Passed);
        Assert.True(Condition(r, "slo").Passed);
    }

    [Fact]
    public void A_tail_that_misses_its_limit_at_any_count_ends_the_wait_once_the_no_miss_bound_is_reached()
    {
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { Latency = i => TimeSpan.FromMilliseconds(i % 10 == 0 ? 80 : 10) };
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(ClosedLoopScenario.Concurrency(1), untilTail: true, slo: "p99<50ms"));

        Assert.Equal(459, r.TotalRequests);
        Assert.Equal(StopReason.TailRule, r.StopReason);
        Assert.Contains("p99 of latency cannot be met at any count (latency SLO): 46 of 459 samples over 50 ms", r.StopDetail,
            StringComparison.Ordinal);
        Assert.False(Condition(r, "slo").Passed);
        Assert.Contains("cannot be met at any count", Condition(r, "enough_samples_p99").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Progress_says_why_measuring_goes_on_and_for_about_how_long()
    {
        var clock = new FakeClock();
        var progress = new EngineProgress();
        string? before = "unset", during = null;
        var w = new FakeWorkload(clock)
        {
            Latency = _ => TimeSpan.FromMilliseconds(100),
            OnExecute = i =>
            {
                if (i == 5)
                {
                    before = progress.TailWait(clock.Timestamp, clock.Frequency);
                }
                else if (i == 200)
                {
                    during = progress.TailWait(clock.Timestamp, clock.Frequency);
                }
            },
        };
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(ClosedLoopScenario.Concurrency(1), untilTail: true), progress);

        Assert.Null(before); // within the minimum duration: nothing to say
        // 200 samples after 20 s (10/s), 259 to go: about 26 s.
        Assert.Equal(
            "past the minimum duration until the tail rule holds: 200 of 459 latency samples for p99 (scenario concurrency:1), "
            + "about 26 s more", during);
        Assert.Null(progress.TailWait(clock.Timestamp, clock.Frequency)); // the run is over
        Assert.Equal(StopReason.TailRule, r.StopReason);
    }

    [Fact]
    public void Progress_says_when_measuring_goes_on_for_the_minimum_request_count()
    {
        var clock = new FakeClock();
        var progress = new EngineProgress();
        string? before = "unset", during = null;
        var w = new FakeWorkload(clock)
        {
            Latency = _ => TimeSpan.FromMilliseconds(100),
            OnExecute = i =>
            {
                if (i == 5)
                {
                    before = progress.TailWait(clock.Timestamp, clock.Frequency);
                }
                else if (i == 20)
                {
                    during = progress.TailWait(clock.Timestamp, clock.Frequency);
                }
            },
        };
        var settings = new RunSettings
        {
            Scenario = ClosedLoopScenario.Concurrency(1),
            Warmup = WarmupRule.None,
            Stop = new StopRules(TimeSpan.FromSeconds(1), 50, TimeSpan.FromMinutes(10), false),
        };
        EngineResult r = new BenchmarkEngine(clock).Run(w, settings, progress);

        Assert.Null(before); // within the minimum duration: nothing to say
        // 20 requests after 2 s (10/s), 30 to go: about 3 s.
        Assert.Equal("past the minimum duration until 50 requests (--min-requests): 20 of 50, about 3 s more", during);
        Assert.Null(progress.TailWait(clock.Timestamp, clock.Frequency)); // the run is over
        Assert.Equal(50, r.TotalRequests);
    }

    [Fact]
    public void Open_loop_runs_wait_for_the_tail_as_closed_ones_do()
    {
        // On the real clock (arrivals wait on it): 2,000 arrivals/s, a minimum duration of 50 ms (about
        // 100 arrivals), then the wait for 459 samples. Requests already reserved when the rule held
        // still run, so there may be a few more; how many depends on the machine, not on the rule.
        var settings = Settings(new PoissonScenario(2_000, workers: 4), untilTail: true) with
        {
            Stop = new StopRules(TimeSpan.FromMilliseconds(50), 10, TimeSpan.FromMinutes(1), UntilTail: true),
        };
        EngineResult r = new BenchmarkEngine().Run(new NoWork(), settings);

        Assert.Equal(StopReason.TailRule, r.StopReason);
        Assert.True(r.Latency.Count >= 459, $"{r.Latency.Count} samples");
        Assert.True(Condition(r, "enough_samples_p99").Passed);
    }

    [Fact]
    public void The_forecast_warns_before_measuring_when_the_rate_cannot_meet_the_tail_within_the_maximum_duration()
    {
        RunSettings Poisson(double rate, TimeSpan max, bool untilTail = true, string? slo = null) => new()
        {
            Scenario = new PoissonScenario(rate),
            Stop = new StopRules(TimeSpan.FromSeconds(30), 100, max, untilTail),
            Slos = slo is null ? [] : ServiceLevelObjective.ParseList(slo),
        };

        (string message, bool warning) = TailRule.Forecast(Poisson(1, TimeSpan.FromMinutes(5)))!;
        Assert.True(warning);
        Assert.Contains("459 latency samples for p99 (scenario poisson:1): about 459 s at 1 req/s, longer than --max-duration (300 s)",
            message, StringComparison.Ordinal);

        (message, warning) = TailRule.Forecast(Poisson(1, TimeSpan.FromMinutes(10), slo: "ttft_p99.9<5000ms"))!;
        Assert.True(warning);
        Assert.Contains("4603 ttft samples for p999 (ttft SLO)", message, StringComparison.Ordinal);

        (message, warning) = TailRule.Forecast(Poisson(1, TimeSpan.FromMinutes(10)))!;
        Assert.False(warning);
        Assert.Contains("measuring goes on past --duration (30 s) until it holds (at most --max-duration, 600 s)", message,
            StringComparison.Ordinal);

        Assert.Null(TailRule.Forecast(Poisson(100, TimeSpan.FromMinutes(10)))); // 4.6 s: within --duration
        Assert.Null(TailRule.Forecast(Poisson(1, TimeSpan.FromMinutes(5), untilTail: false)));
    }

    [Fact]
    public void A_closed_loop_is_warned_of_before_measuring_from_its_warm_up_rate()
    {
        // Warm-up: 1 s at 100 ms, 10 requests/s; p99 then needs about 46 s, more than the 20 s allowed.
        var clock = new FakeClock();
        var progress = new EngineProgress();
        TailForecast? atStart = null;
        var w = new FakeWorkload(clock)
        {
            Latency = _ => TimeSpan.FromMilliseconds(100),
            OnExecute = i =>
            {
                if (i == 10)
                {
                    atStart = progress.Forecast; // the first measured request
                }
            },
        };
        RunSettings settings = Settings(ClosedLoopScenario.Concurrency(1), untilTail: true, max: TimeSpan.FromSeconds(20)) with
        {
            Warmup = WarmupRule.ForDuration(TimeSpan.FromSeconds(1)),
        };
        new BenchmarkEngine(clock).Run(w, settings, progress);

        Assert.NotNull(atStart);
        Assert.True(atStart.Warning);
        Assert.StartsWith(
            "the tail rule needs 459 latency samples for p99 (scenario concurrency:1): about 46 s at 10 req/s (the warm-up's rate), "
            + "longer than --max-duration (20 s)", atStart.Message, StringComparison.Ordinal);

        // Without the rule, or with time enough, nothing to warn of.
        progress = new EngineProgress();
        RunSettings without = settings with { Stop = settings.Stop with { UntilTail = false } };
        new BenchmarkEngine(clock).Run(new FakeWorkload(clock), without, progress);
        Assert.Null(progress.Forecast);
    }

    [Fact]
    public void The_targets_are_the_validity_tail_then_each_slo_percentile_once()
    {
        var settings = new RunSettings
        {
            Scenario = ClosedLoopScenario.Concurrency(2),
            Slos = ServiceLevelObjective.ParseList("p99<50ms,ttft_p99<500ms,ttft_p90<200ms,p99<40ms"),
        };
        Assert.Equal(
            ["latency p99 50 latency SLO", "ttft p99 500 ttft SLO", "ttft p90 200 ttft SLO"],
            TailRule.Targets(settings).Select(t => $"{t.Metric} {t.Name} {t.LimitMs} {t.Source}"));
        Assert.Empty(TailRule.Targets(new RunSettings { Scenario = ClosedLoopScenario.Offline }));
    }

    /// <summary>Odd requests emit one token, even ones four, 100 ms each.</summary>
    private sealed class AlternatingTokens(FakeClock clock) : IWorkload
    {
        private long _n;

        public WorkloadDescription Prepare(WorkloadContext context) => new("tokens", 1, 1, new Dictionary<string, object?>());

        public void Execute(RequestContext request)
        {
            int tokens = Interlocked.Increment(ref _n) % 2 == 0 ? 1 : 4;
            for (int t = 0; t < tokens; t++)
            {
                clock.Advance(TimeSpan.FromMilliseconds(100.0 / tokens));
                request.MarkToken();
            }
        }

        public void Dispose()
        {
        }
    }

    private sealed class NoWork : IWorkload
    {
        public WorkloadDescription Prepare(WorkloadContext context) => new("samples", 1, 1, new Dictionary<string, object?>());

        public void Execute(RequestContext request)
        {
        }

        public void Dispose()
        {
        }
    }
}
