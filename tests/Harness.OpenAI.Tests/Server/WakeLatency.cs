using System.Diagnostics;

namespace Harness.OpenAI.Tests.Server;

/// <summary>
/// How late this machine, right now, gets a request to a worker at its due time along the path an
/// open-loop scenario takes without any HTTP: a dispatcher sleeps until shortly before the due time,
/// spins to it, and hands the request through a semaphore to a waiting worker. A margin measured in
/// the same run for the send-lag checks, so a loaded machine's scheduler is not read as the client's delay.
/// </summary>
public static class WakeLatency
{
    /// <summary>The given percentile of <paramref name="samples"/> handoffs <paramref name="gap"/> apart, in ms (due to worker awake).</summary>
    public static double Measure(int samples = 100, double percentile = 0.99, TimeSpan? gap = null)
    {
        long f = Stopwatch.Frequency;
        long spacing = (long)((gap ?? TimeSpan.FromMilliseconds(5)).TotalSeconds * f);
        long lead = f / 500; // the scenarios sleep until 2 ms before an arrival, then spin
        using var ready = new SemaphoreSlim(0);
        var due = new long[samples];
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
        long next = Stopwatch.GetTimestamp() + spacing;
        for (int i = 0; i < samples; i++, next += spacing)
        {
            long sleep = next - lead - Stopwatch.GetTimestamp();
            if (sleep > 0)
            {
                Thread.Sleep(TimeSpan.FromSeconds((double)sleep / f));
            }

            while (Stopwatch.GetTimestamp() < next)
            {
                Thread.SpinWait(20);
            }

            due[i] = next;
            ready.Release();
        }

        waiter.Join();
        double[] ms = Enumerable.Range(0, samples).Select(i => (woke[i] - due[i]) * 1000.0 / f).Order().ToArray();
        return ms[Math.Min(samples - 1, (int)Math.Ceiling(percentile * samples) - 1)];
    }
}
