using Harness.Hardware;
using Harness.Measurement;

namespace Harness.Telemetry;

/// <summary>Whether and how often a run samples its hardware.</summary>
public sealed record TelemetryOptions
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Shortest interval accepted: NVML's own counters do not update faster.</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(10);

    public static readonly TimeSpan MaxInterval = TimeSpan.FromSeconds(60);

    public static TelemetryOptions Default { get; } = new();

    public static TelemetryOptions Off { get; } = new() { Enabled = false };

    public bool Enabled { get; init; } = true;

    public TimeSpan Interval { get; init; } = DefaultInterval;
}

/// <summary>The sources every run reads: all NVML GPUs and the host CPU.</summary>
public static class DefaultTelemetrySources
{
    /// <param name="nvml">NVML to read; null loads libnvidia-ml.so.1 (and disposes it with the source).</param>
    /// <param name="files">/proc and /sys; null for the real ones.</param>
    /// <param name="server">The server under test on this machine, read with the CPU; null when the run has none.</param>
    public static IReadOnlyList<ITelemetrySource> Create(
        IClock clock, INvml? nvml = null, ServerLocation? server = null, ISystemFiles? files = null) =>
    [
        nvml is null ? new GpuSource(new NvmlLibrary(), clock.Frequency, ownsNvml: true) : new GpuSource(nvml, clock.Frequency),
        new CpuSource(clock.Frequency, files, server: server),
    ];
}
