using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Measurement;
using Harness.Tests.Fakes;

namespace Harness.Tests.Engine;

public class BenchmarkEngineTests
{
    private static RunSettings Settings(IScenario? scenario = null, WarmupRule? warmup = null, StopRules? stop = null) => new()
    {
        Scenario = scenario ?? ClosedLoopScenario.Single,
        Warmup = warmup ?? WarmupRule.None,
        Stop = stop ?? new StopRules(TimeSpan.FromSeconds(1), 10, TimeSpan.FromSeconds(60)),
    };

    [Fact]
    public void Warmup_by_count_is_excluded_from_the_results()
    {
        var clock = new FakeClock();
        // Warm-up requests are slow (100 ms), measured ones fast (10 ms): none of the slow may appear.
        var w = new FakeWorkload(clock) { Latency = i => TimeSpan.FromMilliseconds(i < 7 ? 100 : 10) };
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(warmup: WarmupRule.ForRequests(7)));

        Assert.Equal(7, r.WarmupRequests);
        Assert.Equal(r.TotalRequests + 7, w.Executed);
        Assert.All(r.Latency.ToArray(), t => Assert.Equal(10_000_000, t));
    }

    [Fact]
    public void Warmup_by_duration_runs_until_the_duration_is_over()
    {
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { Latency = _ => TimeSpan.FromMilliseconds(100) };
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(warmup: WarmupRule.ForDuration(TimeSpan.FromSeconds(1))));
        Assert.Equal(10, r.WarmupRequests);
    }

    [Fact]
    public void Stops_only_when_both_min_duration_and_min_requests_are_met()
    {
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { Latency = _ => TimeSpan.FromMilliseconds(10) };

        // 1 s at 10 ms = 100 requests; min requests 250 dominates.
        EngineResult byCount = new BenchmarkEngine(clock).Run(w, Settings(stop: new StopRules(TimeSpan.FromSeconds(1), 250, TimeSpan.FromMinutes(1))));
        Assert.Equal(250, byCount.TotalRequests);
        Assert.Equal(StopReason.Completed, byCount.StopReason);

        // 5 s at 10 ms = 500 requests; min duration dominates.
        EngineResult byTime = new BenchmarkEngine(clock).Run(new FakeWorkload(clock), Settings(stop: new StopRules(TimeSpan.FromSeconds(5), 10, TimeSpan.FromMinutes(1))));
        Assert.Equal(500, byTime.TotalRequests);
        Assert.Equal(5.0, byTime.WindowSeconds, 6);
    }

    [Fact]
    public void Max_duration_ends_the_run_and_says_so()
    {
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { Latency = _ => TimeSpan.FromSeconds(1) };
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(stop: new StopRules(TimeSpan.FromSeconds(1), 1000, TimeSpan.FromSeconds(10))));
        Assert.Equal(StopReason.MaxDuration, r.StopReason);
        Assert.Equal(10, r.TotalRequests);
    }

    [Fact]
    public void Errors_and_timeouts_are_counted_and_kept_out_of_latency()
    {
        var clock = new FakeClock();
        var w = new FakeWorkload(clock)
        {
            Latency = i => TimeSpan.FromMilliseconds(i % 10 == 3 ? 500 : 10),
            Fails = i => i % 10 == 5,
        };
        var settings = Settings(stop: new StopRules(TimeSpan.Zero, 100, TimeSpan.FromMinutes(1))) with { RequestTimeout = TimeSpan.FromMilliseconds(100) };
        EngineResult r = new BenchmarkEngine(clock).Run(w, settings);

        Assert.Equal(100, r.TotalRequests);
        Assert.Equal(10, r.Count(RequestOutcome.Error));
        Assert.Equal(10, r.Count(RequestOutcome.Timeout));
        Assert.Equal(80, r.Count(RequestOutcome.Ok));
        Assert.Equal(80, r.Latency.Count);
        Assert.Equal(10, r.Errors.Counts["InvalidOperationException: planted failure"]);
    }

    [Fact]
    public void Cancellation_stops_the_run_and_marks_it_cancelled()
    {
        var clock = new FakeClock();
        using var cts = new CancellationTokenSource();
        var w = new FakeWorkload(clock) { OnExecute = i => { if (i == 30) { cts.Cancel(); } } };
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(stop: new StopRules(TimeSpan.FromSeconds(100), 1000, TimeSpan.FromMinutes(10))), null, cts.Token);
        Assert.Equal(StopReason.Cancelled, r.StopReason);
        Assert.Equal(31, r.TotalRequests);
    }

    [Fact]
    public void Tokens_give_time_to_first_token_and_time_per_output_token()
    {
        var clock = new FakeClock();
        var w = new FakeWorkload(clock) { TokensPerRequest = 11, TimeToFirstToken = TimeSpan.FromMilliseconds(50), Latency = _ => TimeSpan.FromMilliseconds(150) };
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(stop: new StopRules(TimeSpan.Zero, 5, TimeSpan.FromMinutes(1))));

        Assert.All(r.TimeToFirstToken.ToArray(), t => Assert.Equal(50_000_000, t));
        Assert.All(r.TimePerOutputToken.ToArray(), t => Assert.Equal(10_000_000, t)); // (150-50)/10
        Assert.Equal(50, r.InterTokenLatency.Count); // 10 gaps x 5 requests
        Assert.Equal(55, r.OutputUnits);
    }

    [Fact]
    public void Concurrency_runs_every_worker_and_counts_every_request()
    {
        var clock = new FakeClock();
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var w = new TrackingWorkload(clock, seen);
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(ClosedLoopScenario.Concurrency(4), stop: new StopRules(TimeSpan.Zero, 400, TimeSpan.FromMinutes(1))));

        Assert.InRange(r.TotalRequests, 400, 403); // workers may each pass the check once more
        Assert.Equal(4, w.Context!.Workers);
        Assert.Equal(r.TotalRequests, r.Latency.Count);
        Assert.Equal(r.TotalRequests, seen.Values.Sum());
    }

    [Fact]
    public void Batch_sets_the_work_units_of_every_request()
    {
        var clock = new FakeClock();
        var w = new FakeWorkload(clock);
        EngineResult r = new BenchmarkEngine(clock).Run(w, Settings(ClosedLoopScenario.Offline, stop: new StopRules(TimeSpan.Zero, 20, TimeSpan.FromMinutes(1))) with { Batch = 8 });
        Assert.Equal(8, w.Context!.Batch);
        Assert.Equal(160, r.OutputUnits);
    }

    private sealed class TrackingWorkload(FakeClock clock, System.Collections.Concurrent.ConcurrentDictionary<int, int> seen) : IWorkload
    {
        public WorkloadContext? Context { get; private set; }

        public WorkloadDescription Prepare(WorkloadContext context)
        {
            Context = context;
            return new WorkloadDescription("samples", 1, 1, new Dictionary<string, object?>());
        }

        public void Execute(RequestContext request)
        {
            seen.AddOrUpdate(request.WorkerIndex, 1, (_, n) => n + 1);
            clock.Advance(TimeSpan.FromMilliseconds(1));
            Thread.Yield();
        }

        public void Dispose()
        {
        }
    }
}
