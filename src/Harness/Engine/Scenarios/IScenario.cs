namespace Harness.Engine.Scenarios;

/// <summary>
/// A load pattern: how many requests are in flight and when each is due. The engine runs a scenario
/// once for warm-up and once for the measured phase; the <see cref="IPhaseDriver"/> decides when
/// a phase is over and does the timing and recording.
/// </summary>
public interface IScenario
{
    /// <summary>The name as typed on the command line, e.g. "concurrency:4".</summary>
    string Name { get; }

    /// <summary>Requests in flight at most; the engine prepares one worker state per slot.</summary>
    int Workers { get; }

    /// <summary>Tail percentile whose sample count decides validity (MLPerf: p90 single stream, p99 server); null for throughput-only scenarios.</summary>
    double? TargetTail { get; }

    /// <summary>Issues requests through the driver until it says stop; returns when all have ended.</summary>
    void Run(IPhaseDriver driver);
}

/// <summary>The engine's side of a phase, given to the scenario.</summary>
public interface IPhaseDriver
{
    /// <summary>
    /// Reserves the next request if the phase's stop rules allow one more; false once the phase is over.
    /// Safe to call from several threads.
    /// </summary>
    bool TryBeginRequest();

    /// <summary>
    /// Runs one reserved request on worker slot <paramref name="worker"/>, due at <paramref name="scheduledTimestamp"/>;
    /// <paramref name="item"/> is its entry in the scenario's own schedule (a replayed trace), -1 for none.
    /// </summary>
    void Execute(int worker, long scheduledTimestamp, int item = -1);

    long Now { get; }

    /// <summary>Ticks per second of <see cref="Now"/>: open-loop scenarios turn arrival times into ticks with it.</summary>
    long Frequency { get; }

    CancellationToken CancellationToken { get; }

    /// <summary>
    /// Blocks until <see cref="Now"/> reaches <paramref name="timestamp"/> or the run is cancelled.
    /// Open-loop scenarios wait for each arrival with it; the engine decides how (sleep, then spin).
    /// </summary>
    void WaitUntil(long timestamp);

    /// <summary>
    /// Ends the phase early for a reason only the scenario can see (e.g. an open-loop backlog that
    /// keeps growing). Requests already reserved still run; <see cref="TryBeginRequest"/> returns false.
    /// </summary>
    void EndPhase(StopReason reason);
}
