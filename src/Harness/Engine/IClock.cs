using System.Diagnostics;

namespace Harness.Engine;

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

public static class ClockExtensions
{
    public static double ToSeconds(this IClock clock, long ticks) => (double)ticks / clock.Frequency;

    public static double ToMilliseconds(this IClock clock, long ticks) => ticks * 1000.0 / clock.Frequency;

    /// <summary>Ticks to nanoseconds without overflow for any run shorter than a few centuries.</summary>
    public static long ToNanoseconds(this IClock clock, long ticks) =>
        clock.Frequency == 1_000_000_000 ? ticks : (long)(ticks * (1e9 / clock.Frequency));

    public static long FromTimeSpan(this IClock clock, TimeSpan span) => (long)(span.TotalSeconds * clock.Frequency);
}
