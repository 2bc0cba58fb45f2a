using System.Globalization;

namespace Harness.Engine.Scenarios;

/// <summary>When one entry of a replayed trace is due: at its time from the start, or after its session's previous turn ended (plus a delay).</summary>
/// <param name="ArrivalS">Seconds from the trace's start; null for a later turn that follows its session's previous one.</param>
/// <param name="Session">Its multi-turn session; null for a single request.</param>
/// <param name="DelayS">For a later turn: seconds after the previous turn ended.</param>
public sealed record TraceArrival(double? ArrivalS, string? Session, double DelayS);

/// <summary>
/// Open loop at the recorded times of a trace (AIPerf's fixed schedule), divided by a speedup: entry
/// i is due at start + t_i / speedup whatever the system does, and its latency counts from then. A
/// later turn of a session is due when the session's previous turn ended plus its delay (each
/// divided by the speedup), and never before its own time where it has one. A bounded pool of
/// workers executes; the request's schedule entry reaches the workload as
/// <see cref="RequestContext.Item"/>. The phase ends after the last entry, or as
/// <see cref="StopReason.Overloaded"/> when the backlog falls behind as in <see cref="PoissonScenario"/>.
/// </summary>
public sealed class TraceScenario : IScenario
{
    public const int DefaultWorkers = 256;

    private readonly IReadOnlyList<TraceArrival> _arrivals;
    private readonly int[] _next;
    private readonly bool[] _follows;

    public TraceScenario(IReadOnlyList<TraceArrival> arrivals, double speedup = 1, int workers = DefaultWorkers, TimeSpan? maxQueueDelay = null)
    {
        if (arrivals.Count == 0)
        {
            throw new ArgumentException("a trace needs at least one entry", nameof(arrivals));
        }

        if (!(speedup > 0) || double.IsInfinity(speedup))
        {
            throw new ArgumentOutOfRangeException(nameof(speedup), speedup, "speedup must be positive and finite");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        _arrivals = arrivals;
        Speedup = speedup;
        Workers = workers;
        MaxQueueDelay = maxQueueDelay;
        _next = new int[arrivals.Count];
        _follows = new bool[arrivals.Count];
        Array.Fill(_next, -1);
        var last = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < arrivals.Count; i++)
        {
            if (arrivals[i].Session is { } s)
            {
                if (last.TryGetValue(s, out int previous))
                {
                    _next[previous] = i;
                    _follows[i] = true;
                }

                last[s] = i;
            }
            else if (arrivals[i].ArrivalS is null)
            {
                throw new ArgumentException($"trace entry {i} has neither a time nor a session", nameof(arrivals));
            }
        }
    }

    public double Speedup { get; }

    public TimeSpan? MaxQueueDelay { get; }

    public int Count => _arrivals.Count;

    public string Name => Speedup == 1 ? "trace" : string.Create(CultureInfo.InvariantCulture, $"trace:x{Speedup:0.###}");

    public int Workers { get; }

    /// <summary>p99, as an open-loop server scenario.</summary>
    public double? TargetTail => 0.99;

    /// <summary>The due times (seconds from the start, after the speedup) of the entries that do not wait for a previous turn.</summary>
    public IEnumerable<(int Item, double DueS)> FixedArrivals() =>
        Enumerable.Range(0, _arrivals.Count).Where(i => !_follows[i]).Select(i => (i, (_arrivals[i].ArrivalS ?? 0) / Speedup));

    public void Run(IPhaseDriver driver)
    {
        long start = 0;
        long f = driver.Frequency;
        var gate = new object();
        var pending = new PriorityQueue<int, long>();
        long Ticks(double seconds) => (long)(seconds / Speedup * f);

        void Completed(int item, long end)
        {
            if (item < 0 || _next[item] is not (>= 0 and var next))
            {
                return;
            }

            long due = end + Ticks(_arrivals[next].DelayS);
            if (_arrivals[next].ArrivalS is { } own)
            {
                due = Math.Max(due, start + Ticks(own));
            }

            lock (gate)
            {
                pending.Enqueue(next, due);
                Monitor.PulseAll(gate);
            }
        }

        // The workers first (starting hundreds of threads takes a while on a loaded machine), then the clock of the trace.
        using var pool = new OpenLoopPool(driver, Workers, Completed);
        start = driver.Now;
        lock (gate)
        {
            foreach ((int item, double due) in FixedArrivals())
            {
                pending.Enqueue(item, start + (long)(due * f));
            }
        }

        try
        {
            Dispatch(driver, pool, gate, pending, start);
        }
        finally
        {
            pool.Finish();
        }
    }

    private void Dispatch(IPhaseDriver driver, OpenLoopPool pool, object gate, PriorityQueue<int, long> pending, long start)
    {
        long coarse = driver.Frequency / 500; // the last 2 ms are the driver's (yield, then spin)
        int dispatched = 0;
        while (dispatched < _arrivals.Count && !driver.CancellationToken.IsCancellationRequested)
        {
            int item;
            long due;
            lock (gate)
            {
                if (!pending.TryPeek(out item, out due))
                {
                    // Only later turns are left: wait for their sessions' previous turns to end.
                    Monitor.Wait(gate, 50);
                    continue;
                }

                long remaining = due - driver.Now;
                if (remaining > coarse)
                {
                    // A later turn may become due sooner meanwhile: wake on its arrival too.
                    Monitor.Wait(gate, TimeSpan.FromSeconds((double)(remaining - coarse) / driver.Frequency));
                    continue;
                }

                pending.Dequeue();
            }

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

            pool.Enqueue(due, item);
            dispatched++;
        }
    }
}
