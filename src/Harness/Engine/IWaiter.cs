using System.Runtime.InteropServices;
using Harness.Measurement;

namespace Harness.Engine;

/// <summary>
/// Waits until a timestamp of the run's clock. Models of devices (the LLM latency model) wait through
/// it, so that tests can swap in a fake clock whose waits advance time instantly.
/// </summary>
public interface IWaiter
{
    /// <summary>Returns at or just after <paramref name="timestamp"/>; throws <see cref="OperationCanceledException"/> when cancelled first.</summary>
    void WaitUntil(long timestamp, CancellationToken cancellationToken);
}

/// <summary>
/// Waits on the real clock without spinning: <c>nanosleep</c> on Linux (about 0.1 ms late at most on
/// an idle core, where <see cref="Thread.Sleep(int)"/> rounds to whole milliseconds), in slices of at
/// most 20 ms so that cancellation is seen quickly. Elsewhere it sleeps whole milliseconds.
/// </summary>
public sealed partial class PreciseWaiter : IWaiter
{
    private static readonly long MaxSliceNs = 20_000_000;
    private readonly IClock _clock;
    private readonly bool _nanosleep = OperatingSystem.IsLinux();

    public PreciseWaiter(IClock clock) => _clock = clock;

    public static PreciseWaiter Instance { get; } = new(StopwatchClock.Instance);

    public void WaitUntil(long timestamp, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long remaining = timestamp - _clock.Timestamp;
            if (remaining <= 0)
            {
                return;
            }

            long ns = Math.Min(MaxSliceNs, (long)(remaining * (1e9 / _clock.Frequency)));
            if (_nanosleep)
            {
                var request = new Timespec { Seconds = 0, Nanoseconds = Math.Max(1, ns) };
                _ = NanoSleep(ref request, IntPtr.Zero); // EINTR simply loops
            }
            else
            {
                Thread.Sleep(TimeSpan.FromMilliseconds(Math.Max(1, ns / 1_000_000)));
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int NanoSleep(ref Timespec request, IntPtr remaining);
}
