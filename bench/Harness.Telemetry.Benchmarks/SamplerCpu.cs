using System.Globalization;
using Harness.Hardware;
using Harness.Measurement;

namespace Harness.Telemetry.Benchmarks;

/// <summary>
/// The sampler's CPU share measured directly: this process's CPU time over an interval with the
/// sampler running (real NVML and /proc), minus the same interval idle, as a percentage of one core.
/// The sampler runs a few seconds before the interval, so start-up and JIT tiering are not counted.
/// </summary>
public static class SamplerCpu
{
    public static void Run(TimeSpan length, TimeSpan interval)
    {
        using var nvml = new NvmlLibrary();
        Console.WriteLine($"GPUs: {(nvml.Available ? nvml.ListGpus().Count : 0)} ({nvml.UnavailableReason ?? "NVML loaded"})");
        TimeSpan idle = CpuOver(length, () => { });

        var sources = DefaultTelemetrySources.Create(StopwatchClock.Instance, nvml);
        var sampler = new TelemetrySampler(sources, StopwatchClock.Instance, interval);
        sampler.Start();
        Thread.Sleep(TimeSpan.FromSeconds(5));
        long before = Readings(sampler);
        TimeSpan busy = CpuOver(length, () => { });
        long readings = Readings(sampler) - before;
        sampler.Stop();

        double pct = (busy - idle).TotalSeconds / length.TotalSeconds * 100;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"interval {interval.TotalMilliseconds} ms, {length.TotalSeconds} s: process CPU {busy.TotalMilliseconds:0.#} ms with the sampler, {idle.TotalMilliseconds:0.#} ms idle; {readings} readings; sampler {pct:0.###}% of one core, {(busy - idle).TotalMicroseconds / Math.Max(1, readings):0} us per reading"));
        sampler.Dispose();
    }

    private static long Readings(TelemetrySampler sampler)
    {
        var now = StopwatchClock.Instance.Timestamp;
        return sampler.Report(new TelemetryWindow(now - 1, now, StopwatchClock.Instance.Frequency)).Sources
            .Where(s => s.Unavailable is null).Select(s => s.Samples).DefaultIfEmpty(0).Max();
    }

    private static TimeSpan CpuOver(TimeSpan length, Action start)
    {
        TimeSpan before = Environment.CpuUsage.TotalTime;
        start();
        Thread.Sleep(length);
        return Environment.CpuUsage.TotalTime - before;
    }
}
