using System.Globalization;
using Harness.Measurement;

namespace Harness.Engine;

/// <summary>What a progress display polls while the engine runs; written by the engine only.</summary>
public sealed class EngineProgress
{
    private long _completed;
    private TailTarget? _tailTarget;
    private long _tailHave;
    private long _tailNeed;
    private long _tailCompleted;
    private long _minTicks;
    private long _minRequests;

    public string Phase { get; internal set; } = "preparing";

    /// <summary>Clock timestamp at which the current phase began.</summary>
    public long PhaseStart { get; internal set; }

    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>
    /// What the tail rule will take, known once a closed loop's warm-up has shown its rate (an open loop's is told
    /// before the run from its own rate); null when there is nothing to say.
    /// </summary>
    public TailForecast? Forecast { get; internal set; }

    /// <summary>The percentile the measured phase waits for past its minimum duration; null while it does not wait.</summary>
    public TailTarget? TailTarget => Volatile.Read(ref _tailTarget);

    /// <summary>
    /// Why measuring goes on past the minimum duration and for about how long, from the samples' rate so far
    /// (the engine counts samples only now and then; in between, each completed request counts as one):
    /// "past the minimum duration until the tail rule holds: 312 of 459 latency samples for p99 (scenario poisson:1),
    /// about 147 s more"; before that, past the minimum duration, what the minimum request count waits for
    /// (<see cref="CountWait"/>). Null while the phase waits for neither.
    /// </summary>
    public string? TailWait(long now, long frequency)
    {
        if (Volatile.Read(ref _tailTarget) is not { } target)
        {
            return CountWait(now, frequency);
        }

        long need = Interlocked.Read(ref _tailNeed);
        long have = Math.Min(need, Interlocked.Read(ref _tailHave) + Completed - Interlocked.Read(ref _tailCompleted));
        double seconds = (double)(now - PhaseStart) / frequency;
        string eta = have > 0 && seconds > 0
            ? string.Create(CultureInfo.InvariantCulture, $"about {Math.Max(0, need - have) * seconds / have:0} s more")
            : "no sample yet to estimate how long";
        return string.Create(CultureInfo.InvariantCulture,
            $"past the minimum duration until the tail rule holds: {have} of {target.Describe(need)}, {eta}");
    }

    /// <summary>
    /// Past the minimum duration, before the tail rule is looked at, the phase may still wait for its minimum
    /// request count: "past the minimum duration until 100 requests (--min-requests): 45 of 100, about 20 s more".
    /// </summary>
    private string? CountWait(long now, long frequency)
    {
        long minTicks = Interlocked.Read(ref _minTicks), need = Interlocked.Read(ref _minRequests), have = Completed;
        long elapsed = now - PhaseStart;
        if (minTicks <= 0 || elapsed < minTicks || have >= need)
        {
            return null;
        }

        double seconds = (double)elapsed / frequency;
        string eta = have > 0
            ? string.Create(CultureInfo.InvariantCulture, $"about {(need - have) * seconds / have:0} s more")
            : "no request has completed yet to estimate how long";
        return string.Create(CultureInfo.InvariantCulture,
            $"past the minimum duration until {need} requests (--min-requests): {have} of {need}, {eta}");
    }

    /// <summary>The measured phase's minimum duration (clock ticks) and request count, for <see cref="TailWait"/>.</summary>
    internal void Minimums(long minTicks, long minRequests)
    {
        Interlocked.Exchange(ref _minTicks, minTicks);
        Interlocked.Exchange(ref _minRequests, minRequests);
    }

    internal void Reset(string phase, long start)
    {
        if (phase == RunPhases.Preparing)
        {
            Forecast = null;
        }

        Phase = phase;
        PhaseStart = start;
        Interlocked.Exchange(ref _completed, 0);
        Interlocked.Exchange(ref _minTicks, 0);
        Volatile.Write(ref _tailTarget, null);
    }

    internal void Increment() => Interlocked.Increment(ref _completed);

    /// <summary>
    /// The engine waits for <paramref name="target"/> (null: no longer waits), with <paramref name="have"/> of
    /// <paramref name="need"/> samples.
    /// </summary>
    internal void WaitingForTail(TailTarget? target, long have, long need)
    {
        Interlocked.Exchange(ref _tailHave, have);
        Interlocked.Exchange(ref _tailNeed, need);
        Interlocked.Exchange(ref _tailCompleted, Completed);
        Volatile.Write(ref _tailTarget, target);
    }
}
