using System.Collections.Concurrent;
using System.Globalization;

namespace Harness.Engine.Scenarios;

/// <summary>
/// Open loop (MLPerf's Server scenario): requests arrive by a seeded Poisson process at
/// <see cref="Rate"/> per second whatever the system does, and a bounded pool of
/// <see cref="Workers"/> executes them. A request that finds every worker busy waits in a FIFO
/// queue, and its latency is counted from its scheduled arrival, so queueing shows in the tail
/// (no coordinated omission). When the oldest waiting request is further behind its schedule than
/// the queueing bound, the offered rate is beyond capacity: the phase ends as
/// <see cref="StopReason.Overloaded"/> instead of draining an ever-growing backlog (LoadGen's
/// "too many outstanding queries"). The bound is <see cref="MaxQueueDelay"/> when set, otherwise
/// 20 mean service times and at least 0.5 s: a stable queue (load 95%, 8 workers) waits that long
/// about once in three thousand requests, an overloaded one within seconds.
/// </summary>
public sealed class PoissonScenario : IScenario
{
    /// <summary>Workers when the scenario text names none.</summary>
    public const int DefaultWorkers = 8;

    /// <summary>Schedule seed when none is given (the run's --seed is used by the CLI).</summary>
    public const int DefaultSeed = 42;

    public PoissonScenario(double rate, int workers = DefaultWorkers, int seed = DefaultSeed, TimeSpan? maxQueueDelay = null)
    {
        if (!(rate > 0) || double.IsInfinity(rate))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "rate must be positive and finite");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        Rate = rate;
        Workers = workers;
        Seed = seed;
        MaxQueueDelay = maxQueueDelay;
    }

    /// <summary>Mean arrivals per second.</summary>
    public double Rate { get; }

    public int Seed { get; }

    /// <summary>Fixed queueing bound; null for the adaptive one (20 mean service times, at least 0.5 s).</summary>
    public TimeSpan? MaxQueueDelay { get; }

    public string Name => Workers == DefaultWorkers
        ? string.Create(CultureInfo.InvariantCulture, $"poisson:{Rate:0.###}")
        : string.Create(CultureInfo.InvariantCulture, $"poisson:{Rate:0.###}:{Workers}");

    public int Workers { get; }

    /// <summary>p99, as MLPerf's Server scenario.</summary>
    public double? TargetTail => 0.99;

    /// <summary>The same scenario at another rate (sweeps and the SLO search).</summary>
    public PoissonScenario WithRate(double rate) => new(rate, Workers, Seed, MaxQueueDelay);

    public void Run(IPhaseDriver driver)
    {
        var queue = new ConcurrentQueue<long>();
        using var ready = new SemaphoreSlim(0);
        int dispatchDone = 0;
        var service = new ServiceTime();

        // Dedicated threads, as in the closed loop: pool threads blocked in a workload would delay arrivals.
        var threads = new Thread[Workers];
        for (int w = 0; w < Workers; w++)
        {
            int worker = w;
            threads[w] = new Thread(() =>
            {
                while (true)
                {
                    ready.Wait();
                    if (queue.TryDequeue(out long due))
                    {
                        long begin = driver.Now;
                        driver.Execute(worker, due);
                        service.Add(driver.Now - begin);
                    }
                    else if (Volatile.Read(ref dispatchDone) == 1)
                    {
                        return;
                    }
                }
            })
            { IsBackground = true, Name = $"harness-worker-{w}" };
            threads[w].Start();
        }

        try
        {
            Dispatch(driver, queue, ready, service);
        }
        finally
        {
            // Every queued request still runs (it was reserved, so it must end in the counts);
            // one extra release per worker lets each exit once the queue is empty.
            Volatile.Write(ref dispatchDone, 1);
            ready.Release(Workers);
            foreach (Thread t in threads)
            {
                t.Join();
            }
        }
    }

    private void Dispatch(IPhaseDriver driver, ConcurrentQueue<long> queue, SemaphoreSlim ready, ServiceTime service)
    {
        var arrivals = new PoissonArrivals(Rate, Seed);
        long start = driver.Now;
        long frequency = driver.Frequency;
        long floor = frequency / 2;
        while (!driver.CancellationToken.IsCancellationRequested)
        {
            long due = start + (long)(arrivals.Next() * frequency);
            driver.WaitUntil(due);
            long now = driver.Now;
            // Before any request has finished, the time since the start bounds the service time from below.
            long bound = MaxQueueDelay is { } fixedBound
                ? (long)(fixedBound.TotalSeconds * frequency)
                : Math.Max(floor, 20 * (service.Mean ?? now - start));
            if (queue.TryPeek(out long oldest) && now - oldest > bound)
            {
                driver.EndPhase(StopReason.Overloaded);
                return;
            }

            if (!driver.TryBeginRequest())
            {
                return;
            }

            queue.Enqueue(due);
            ready.Release();
        }
    }

    /// <summary>Running mean of the workers' service times, in ticks.</summary>
    private sealed class ServiceTime
    {
        private long _total;
        private long _count;

        public long? Mean => Interlocked.Read(ref _count) is > 0 and var n ? Interlocked.Read(ref _total) / n : null;

        public void Add(long ticks)
        {
            Interlocked.Add(ref _total, ticks);
            Interlocked.Increment(ref _count);
        }
    }
}
