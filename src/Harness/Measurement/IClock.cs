using System.Diagnostics;

namespace Harness.Measurement;

/// <summary>
/// The one monotonic clock of a run. Requests, tokens and telemetry samples are all stamped with it,
/// so their times can be subtracted from one another.
/// </summary>
public interface IClock
{
    /// <summary>Monotonic timestamp in <see cref="Frequency"/> ticks per second.</summary>
    long Timestamp { get; }

    long Frequency { get; }

    /// <summary>Wall-clock time, used only for the start stamp and the clock-anomaly check.</summary>
    DateTime UtcNow { get; }
}

/// <summary>The real clock: <see cref="Stopwatch.GetTimestamp"/>.</summary>
public sealed class StopwatchClock : IClock
{
    public static readonly StopwatchClock Instance = new();

    public long Timestamp => Stopwatch.GetTimestamp();

    public long Frequency => Stopwatch.Frequency;

    public DateTime UtcNow => DateTime.UtcNow;
}

/// <summary>
/// The monotonic and the wall clock read together: <see cref="Timestamp"/> is the middle of the two
/// monotonic reads that bracket the wall read, <see cref="UncertaintyTicks"/> half their gap (what a
/// preemption between the reads adds to the pairing error on a loaded machine).
/// </summary>
public readonly record struct ClockPair(long Timestamp, DateTime Utc, long UncertaintyTicks);

public static class ClockExtensions
{
    /// <summary>
    /// Reads both clocks, bracketing the wall read by two monotonic reads, a few times if the thread
    /// was preempted in between, and keeps the tightest pair: the clock-anomaly rule compares spans
    /// of the two clocks and must not blame them for the scheduler.
    /// </summary>
    public static ClockPair ReadBoth(this IClock clock)
    {
        long tight = clock.Frequency / 50_000; // 20 µs: nothing came between the reads
        ClockPair best = default;
        long bestGap = long.MaxValue;
        for (int attempt = 0; attempt < 8 && bestGap > tight; attempt++)
        {
            long before = clock.Timestamp;
            DateTime wall = clock.UtcNow;
            long after = clock.Timestamp;
            if (after - before < bestGap)
            {
                bestGap = after - before;
                best = new ClockPair(before + (bestGap / 2), wall, (bestGap + 1) / 2);
            }
        }

        return best;
    }

    public static double ToSeconds(this IClock clock, long ticks) => (double)ticks / clock.Frequency;

    public static double ToMilliseconds(this IClock clock, long ticks) => ticks * 1000.0 / clock.Frequency;

    /// <summary>Ticks to nanoseconds without overflow for any run shorter than a few centuries.</summary>
    public static long ToNanoseconds(this IClock clock, long ticks) =>
        clock.Frequency == 1_000_000_000 ? ticks : (long)(ticks * (1e9 / clock.Frequency));

    public static long FromTimeSpan(this IClock clock, TimeSpan span) => (long)(span.TotalSeconds * clock.Frequency);
}
