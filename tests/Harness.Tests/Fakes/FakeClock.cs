using Harness.Measurement;

namespace Harness.Tests.Fakes;

/// <summary>
/// A clock that moves only when told to. Nanosecond ticks by default; <see cref="Milliseconds"/>
/// gives one whose ticks read as milliseconds (handy for telemetry windows). Thread-safe; wall time
/// moves with it, so the clock-anomaly rule passes unless <see cref="WallSkew"/> says otherwise.
/// </summary>
public sealed class FakeClock : IClock
{
    private static readonly DateTime Epoch = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private long _ticks;

    public FakeClock(long frequency = 1_000_000_000)
    {
        Frequency = frequency;
        _ticks = frequency; // one second after the epoch, so no timestamp is zero
    }

    public static FakeClock Milliseconds() => new(1000);

    public long Timestamp => Interlocked.Read(ref _ticks);

    public long Frequency { get; }

    public DateTime UtcNow => Epoch.AddSeconds((double)Timestamp / Frequency) + WallSkew;

    public TimeSpan WallSkew { get; set; }

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, (long)(by.TotalSeconds * Frequency));

    public void AdvanceMs(long ms) => Advance(TimeSpan.FromMilliseconds(ms));
}
