using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Measurement;

namespace Harness.Tests.Engine;

/// <summary>The engine with the open-loop scenario and SLO accounting, on real and manual clocks.</summary>
public class OpenLoopEngineTests
{
    [Fact]
    public void Open_loop_latency_counts_the_queueing_from_the_scheduled_arrival()
    {
        // One worker, arrivals every 2.5 ms on average, each request sleeps at least 5 ms: requests
        // queue. Request k cannot end before (k+1) x 5 ms after the first start, so its latency from
        // its arrival is at least that minus its arrival time. Timing from the start of service
        // instead would cap every latency near 5 ms, far below this bound.
        const int n = 60;
        const double serviceMs = 5;
        var scenario = new PoissonScenario(rate: 400, workers: 1, seed: 17);
        var settings = new RunSettings
        {
            Scenario = scenario,
            Warmup = WarmupRule.None,
            Stop = new StopRules(TimeSpan.Zero, n, TimeSpan.FromMinutes(1)),
        };
        using var workload = new SleepingWorkload(TimeSpan.FromMilliseconds(serviceMs));

        EngineResult result = new BenchmarkEngine().Run(workload, settings);

        double[] arrivals = PoissonArrivals.Times(400, 17, n);
        double lowerBoundMs = Enumerable.Range(0, n).Max(k => (k + 1) * serviceMs - arrivals[k] * 1000);
        long[] latencies = result.Latency.ToArray();
        double maxMs = latencies.Max() * 1000.0 / result.Frequency;
        Assert.Equal(n, result.TotalRequests);
        Assert.True(lowerBoundMs > 50, "the schedule should queue (test setup)");
        Assert.True(maxMs >= lowerBoundMs * 0.999, $"max latency {maxMs:0.###} ms is below the queueing bound {lowerBoundMs:0.###} ms");
    }

    [Fact]
    public void Goodput_counts_the_requests_within_every_limit()
    {
        // Manual clock: every fourth request takes 30 ms, the others 10 ms; the limit is 20 ms.
        var clock = new ManualClock();
        var settings = new RunSettings
        {
            Scenario = ClosedLoopScenario.Single,
            Warmup = WarmupRule.None,
            Stop = new StopRules(TimeSpan.Zero, 40, TimeSpan.FromHours(1)),
            Slos = [ServiceLevelObjective.Parse("p50<20ms")],
        };
        using var workload = new ClockWorkload(clock, i => i % 4 == 0 ? 30 : 10);

        EngineResult result = new BenchmarkEngine(clock).Run(workload, settings);

        Assert.Equal(40, result.Count(RequestOutcome.Ok));
        Assert.Equal(30, result.SloMetRequests);
    }

    [Fact]
    public void A_ttft_limit_is_unmet_by_requests_that_report_no_token()
    {
        var clock = new ManualClock();
        var settings = new RunSettings
        {
            Scenario = ClosedLoopScenario.Single,
            Warmup = WarmupRule.None,
            Stop = new StopRules(TimeSpan.Zero, 10, TimeSpan.FromHours(1)),
            Slos = [ServiceLevelObjective.Parse("ttft_p90<1s")],
        };
        using var workload = new ClockWorkload(clock, _ => 1);

        EngineResult result = new BenchmarkEngine(clock).Run(workload, settings);

        Assert.Equal(0, result.SloMetRequests);
    }

    private sealed class SleepingWorkload(TimeSpan service) : IWorkload
    {
        public WorkloadDescription Prepare(WorkloadContext context) => new("samples", 1, 1, new Dictionary<string, object?>());

        public void Execute(RequestContext request) => Thread.Sleep(service);

        public void Dispose()
        {
        }
    }

    /// <summary>Advances the manual clock by the milliseconds its function gives for request i.</summary>
    private sealed class ClockWorkload(ManualClock clock, Func<long, double> ms) : IWorkload
    {
        public WorkloadDescription Prepare(WorkloadContext context) => new("samples", 1, 1, new Dictionary<string, object?>());

        public void Execute(RequestContext request) => clock.Advance(ms(request.RequestIndex));

        public void Dispose()
        {
        }
    }

    private sealed class ManualClock : IClock
    {
        private static readonly DateTime Epoch = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        private long _ticks = 1_000_000_000;

        public long Timestamp => Interlocked.Read(ref _ticks);

        public long Frequency => 1_000_000_000;

        public DateTime UtcNow => Epoch.AddTicks(Timestamp / 100);

        public void Advance(double ms) => Interlocked.Add(ref _ticks, (long)(ms * 1_000_000));
    }
}
