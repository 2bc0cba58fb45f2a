using Harness.Engine;

namespace Harness.Tests.Fakes;

/// <summary>A clock that moves only when told to: 1 tick = 1 ns. Thread-safe.</summary>
public sealed class FakeClock : IClock
{
    private static readonly DateTime Epoch = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private long _ticks = 1_000_000_000;

    public long Timestamp => Interlocked.Read(ref _ticks);

    public long Frequency => 1_000_000_000;

    /// <summary>Wall time moves with the monotonic time, so the clock-anomaly rule passes unless told otherwise.</summary>
    public DateTime UtcNow => Epoch.AddTicks(Timestamp / 100) + WallSkew;

    public TimeSpan WallSkew { get; set; }

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, (long)(by.TotalSeconds * 1e9));
}
