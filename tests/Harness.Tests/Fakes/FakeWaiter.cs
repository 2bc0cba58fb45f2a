using Harness.Engine;

namespace Harness.Tests.Fakes;

/// <summary>Waits by moving the fake clock to the deadline (optionally a little past it).</summary>
public sealed class FakeWaiter(FakeClock clock, TimeSpan lateBy = default) : IWaiter
{
    public void WaitUntil(long timestamp, CancellationToken cancellationToken)
    {
        long target = timestamp + (long)(lateBy.TotalSeconds * clock.Frequency);
        long now = clock.Timestamp;
        if (target > now)
        {
            clock.Advance(TimeSpan.FromSeconds((double)(target - now) / clock.Frequency));
        }
    }
}
