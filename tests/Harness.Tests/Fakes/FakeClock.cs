using Harness.Engine;

namespace Harness.Tests.Fakes;

/// <summary>A clock that moves only when told: 1000 ticks per second, so ticks read as milliseconds.</summary>
public sealed class FakeClock : IClock
{
    public long Timestamp { get; set; } = 1_000_000;

    public long Frequency => 1000;

    public DateTime UtcNow { get; set; } = new(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc);

    public void AdvanceMs(long ms)
    {
        Timestamp += ms;
        UtcNow = UtcNow.AddMilliseconds(ms);
    }
}
