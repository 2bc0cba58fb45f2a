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
        using var pool = new OpenLoopPool(driver, Workers);
        try
        {
            Dispatch(driver, pool);
        }
        finally
        {
            pool.Finish();
        }
    }

    private void Dispatch(IPhaseDriver driver, OpenLoopPool pool)
    {
        var arrivals = new PoissonArrivals(Rate, Seed);
        long start = driver.Now;
        long frequency = driver.Frequency;
        while (!driver.CancellationToken.IsCancellationRequested)
        {
            long due = start + (long)(arrivals.Next() * frequency);
            driver.WaitUntil(due);
            if (pool.Overloaded(driver.Now, start, MaxQueueDelay))
            {
                driver.EndPhase(StopReason.Overloaded);
                return;
            }

            if (!driver.TryBeginRequest())
            {
                return;
            }

            pool.Enqueue(due, -1);
        }
    }
}

/// <summary>
/// The workers of an open-loop scenario: dedicated threads (pool threads blocked in a workload would
/// delay arrivals) that take due requests from one FIFO queue. Every queued request runs, even after
/// the phase is over: it was reserved, so it must end in the counts.
/// </summary>
internal sealed class OpenLoopPool : IDisposable
{
    private readonly ConcurrentQueue<(long Due, int Item)> _queue = new();
    private readonly SemaphoreSlim _ready = new(0);
    private readonly ServiceTime _service = new();
    private readonly Thread[] _threads;
    private readonly long _frequency;
    private int _dispatchDone;

    /// <param name="completed">Called on the worker's thread after each request, with its schedule item and end (a session's next turn is due from then).</param>
    public OpenLoopPool(IPhaseDriver driver, int workers, Action<int, long>? completed = null)
    {
        _frequency = driver.Frequency;
        _threads = new Thread[workers];
        using var started = new CountdownEvent(workers);
        for (int w = 0; w < workers; w++)
        {
            int worker = w;
            _threads[w] = new Thread(() =>
            {
                started.Signal();
                while (true)
                {
                    _ready.Wait();
                    if (_queue.TryDequeue(out (long Due, int Item) next))
                    {
                        long begin = driver.Now;
                        driver.Execute(worker, next.Due, next.Item);
                        long end = driver.Now;
                        _service.Add(end - begin);
                        completed?.Invoke(next.Item, end);
                    }
                    else if (Volatile.Read(ref _dispatchDone) == 1)
                    {
                        return;
                    }
                }
            })
            { IsBackground = true, Name = $"harness-worker-{w}" };
            _threads[w].Start();
        }

        // Every worker is running before the first arrival is due, so none is late for a thread that is still starting.
        started.Wait();
    }

    public void Enqueue(long due, int item)
    {
        _queue.Enqueue((due, item));
        _ready.Release();
    }

    /// <summary>
    /// Whether the oldest waiting request is further behind its schedule than the queueing bound:
    /// <paramref name="fixedBound"/> when set, else 20 mean service times and at least 0.5 s (before any
    /// request has finished, the time since <paramref name="start"/> bounds the service time from below).
    /// </summary>
    public bool Overloaded(long now, long start, TimeSpan? fixedBound)
    {
        long frequency = _frequency;
        long bound = fixedBound is { } b
            ? (long)(b.TotalSeconds * frequency)
            : Math.Max(frequency / 2, 20 * (_service.Mean ?? now - start));
        return _queue.TryPeek(out (long Due, int Item) oldest) && now - oldest.Due > bound;
    }

    /// <summary>Lets each worker exit once the queue is empty, and waits for them.</summary>
    public void Finish()
    {
        if (Interlocked.Exchange(ref _dispatchDone, 1) == 1)
        {
            return;
        }

        _ready.Release(_threads.Length);
        foreach (Thread t in _threads)
        {
            t.Join();
        }
    }

    public void Dispose()
    {
        Finish();
        _ready.Dispose();
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
