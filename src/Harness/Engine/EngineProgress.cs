namespace Harness.Engine;

/// <summary>What a progress display polls while the engine runs; written by the engine only.</summary>
public sealed class EngineProgress
{
    private long _completed;

    public string Phase { get; internal set; } = "preparing";

    /// <summary>Clock timestamp at which the current phase began.</summary>
    public long PhaseStart { get; internal set; }

    public long Completed => Interlocked.Read(ref _completed);

    internal void Reset(string phase, long start)
    {
        Phase = phase;
        PhaseStart = start;
        Interlocked.Exchange(ref _completed, 0);
    }

    internal void Increment() => Interlocked.Increment(ref _completed);
}
