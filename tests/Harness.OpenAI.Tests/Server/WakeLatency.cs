using System.Diagnostics;

namespace Harness.OpenAI.Tests.Server;

/// <summary>
/// How late this machine, right now, wakes a thread handed work through a semaphore (what an
/// open-loop worker goes through between its arrival and its send): a margin measured in the same
/// run for the send-lag checks, so a loaded machine's scheduler is not read as the client's delay.
/// </summary>
public static class WakeLatency
{
    /// <summary>The given percentile of <paramref name="samples"/> handoffs <paramref name="gap"/> apart, in ms.</summary>
    public static double Measure(int samples = 100, double percentile = 0.99, TimeSpan? gap = null)
    {
        long spacing = (long)((gap ?? TimeSpan.FromMilliseconds(5)).TotalSeconds * Stopwatch.Frequency);
        using var ready = new SemaphoreSlim(0);
        var released = new long[samples];
        var woke = new long[samples];
        var waiter = new Thread(() =>
        {
            for (int i = 0; i < samples; i++)
            {
                ready.Wait();
                woke[i] = Stopwatch.GetTimestamp();
            }
        }) { IsBackground = true };
        waiter.Start();
        long next = Stopwatch.GetTimestamp();
        for (int i = 0; i < samples; i++)
        {
            next += spacing;
            while (Stopwatch.GetTimestamp() < next)
            {
                Thread.SpinWait(20);
            }

            released[i] = Stopwatch.GetTimestamp();
            ready.Release();
        }

        waiter.Join();
        double[] ms = Enumerable.Range(0, samples).Select(i => (woke[i] - released[i]) * 1000.0 / Stopwatch.Frequency).Order().ToArray();
        return ms[Math.Min(samples - 1, (int)Math.Ceiling(percentile * samples) - 1)];
    }
}
