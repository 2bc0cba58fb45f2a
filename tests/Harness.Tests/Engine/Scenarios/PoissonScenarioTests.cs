using System.Collections.Concurrent;
using Harness.Engine;
using Harness.Engine.Scenarios;

namespace Harness.Tests.Engine.Scenarios;

/// <summary>
/// The open-loop scenario against a fake driver on a virtual clock: waiting for an arrival moves
/// the clock instantly, so the dispatch logic is checked without sleeping.
/// </summary>
public class PoissonScenarioTests
{
    [Fact]
    public void Every_request_is_executed_once_with_its_scheduled_arrival()
    {
        // The virtual clock jumps ahead of the workers, which run in real time: on a loaded machine the
        // adaptive overload bound could trip, so this test of dispatch alone sets a bound it cannot reach.
        var scenario = new PoissonScenario(rate: 100, workers: 4, seed: 11, maxQueueDelay: TimeSpan.FromDays(1));
        var driver = new VirtualDriver(limit: 500);

        scenario.Run(driver);

        double[] expected = PoissonArrivals.Times(100, 11, 500);
        long[] scheduled = driver.Executed.Select(e => e.Scheduled).Order().ToArray();
        Assert.Equal(500, scheduled.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(VirtualDriver.Start + (long)(expected[i] * VirtualDriver.Hz), scheduled[i]);
        }

        Assert.All(driver.Executed, e => Assert.InRange(e.Worker, 0, 3));
        Assert.True(driver.MaxInFlight <= 4, $"{driver.MaxInFlight} requests ran at once with 4 workers");
        Assert.Null(driver.EndedWith);
    }

    [Fact]
    public void A_request_is_dispatched_no_earlier_than_its_arrival()
    {
        var driver = new VirtualDriver(limit: 200);

        new PoissonScenario(rate: 40, workers: 2, seed: 3).Run(driver);

        Assert.All(driver.Reservations, r => Assert.True(r.Now >= r.Due, $"reserved at {r.Now} before its arrival at {r.Due}"));
    }

    [Fact]
    public void A_backlog_beyond_the_bound_ends_the_phase_as_overloaded_and_still_runs_every_reserved_request()
    {
        // Workers never finish until the phase ends: the queue can only grow.
        var driver = new VirtualDriver(limit: 100_000) { BlockExecutesUntilEnd = true };
        var scenario = new PoissonScenario(rate: 100, workers: 2, seed: 5, maxQueueDelay: TimeSpan.FromSeconds(1));

        scenario.Run(driver);

        Assert.Equal(StopReason.Overloaded, driver.EndedWith);
        Assert.Equal(driver.Reservations.Count, driver.Executed.Count);
        // About one second of arrivals (100/s) queued before the bound tripped, not the whole limit.
        Assert.InRange(driver.Reservations.Count, 50, 200);
    }

    [Fact]
    public void The_adaptive_bound_never_trips_before_a_request_has_finished()
    {
        // No request finishes while the phase runs: the adaptive bound has no service time to go
        // on, and a first slow request (a model's first call) must not read as overload.
        var driver = new VirtualDriver(limit: 300) { BlockExecutesUntilEnd = true, ReleaseWhenLimitReached = true };

        new PoissonScenario(rate: 100, workers: 2, seed: 5).Run(driver);

        Assert.Null(driver.EndedWith);
        Assert.Equal(300, driver.Executed.Count);
    }

    [Fact]
    public void The_name_round_trips_through_the_parser()
    {
        Assert.Equal("poisson:12.5", new PoissonScenario(12.5).Name);
        Assert.Equal("poisson:12.5:3", new PoissonScenario(12.5, 3).Name);
        Assert.Equal(0.99, new PoissonScenario(1).TargetTail);
        var again = (PoissonScenario)ScenarioParser.Parse(new PoissonScenario(12.5, 3).Name);
        Assert.Equal((12.5, 3), (again.Rate, again.Workers));
    }

    /// <summary>A driver whose clock jumps to each arrival; it reserves up to a limit and records executions.</summary>
    private sealed class VirtualDriver : IPhaseDriver
    {
        public const long Hz = 1_000_000_000;
        public const long Start = 5 * Hz;

        private readonly int _limit;
        private readonly ManualResetEventSlim _released = new(false);
        private long _now = Start;
        private int _inFlight;
        private int _maxInFlight;

        public VirtualDriver(int limit) => _limit = limit;

        public bool BlockExecutesUntilEnd { get; init; }

        public bool ReleaseWhenLimitReached { get; init; }

        public ConcurrentBag<(int Worker, long Scheduled)> Executed { get; } = [];

        public List<(long Due, long Now)> Reservations { get; } = [];

        public StopReason? EndedWith { get; private set; }

        public int MaxInFlight => _maxInFlight;

        public long Now => Interlocked.Read(ref _now);

        public long Frequency => Hz;

        public CancellationToken CancellationToken => CancellationToken.None;

        private long _lastWait;

        public void WaitUntil(long timestamp)
        {
            _lastWait = timestamp;
            long current;
            while ((current = Interlocked.Read(ref _now)) < timestamp && Interlocked.CompareExchange(ref _now, timestamp, current) != current)
            {
            }
        }

        public bool TryBeginRequest()
        {
            if (EndedWith is not null || Reservations.Count >= _limit)
            {
                if (ReleaseWhenLimitReached)
                {
                    _released.Set();
                }

                return false;
            }

            Reservations.Add((_lastWait, Now));
            return true;
        }

        public void Execute(int worker, long scheduledTimestamp, int item = -1)
        {
            int n = Interlocked.Increment(ref _inFlight);
            int max;
            while (n > (max = _maxInFlight) && Interlocked.CompareExchange(ref _maxInFlight, n, max) != max)
            {
            }

            if (BlockExecutesUntilEnd)
            {
                _released.Wait(TimeSpan.FromSeconds(30));
            }

            Executed.Add((worker, scheduledTimestamp));
            Interlocked.Decrement(ref _inFlight);
        }

        public void EndPhase(StopReason reason)
        {
            EndedWith ??= reason;
            _released.Set();
        }
    }
}
