namespace Harness.Telemetry;

/// <summary>
/// One thing the sampler reads at a fixed interval (NVML GPUs, /proc CPU). The sampler calls
/// <see cref="Sample"/> from one thread at a time; a source keeps its readings, bounded, and turns
/// them into its part of the result. A source that cannot read here says why and records nothing.
/// </summary>
public interface ITelemetrySource : IDisposable
{
    /// <summary>Short name used in the result and in metrics: "gpu", "cpu".</summary>
    string Name { get; }

    /// <summary>Null when the source works here; otherwise one sentence saying why it reads nothing.</summary>
    string? UnavailableReason { get; }

    /// <summary>Takes one reading, stamped <paramref name="timestamp"/> (the run's clock). May throw; the sampler records it.</summary>
    /// <param name="windowEdge">
    /// The reading just before the measured window opens or just after it closes: costly counters that
    /// a source reads only now and then (NVML energy) must be read now, so the window is bracketed.
    /// </param>
    void Sample(long timestamp, bool windowEdge = false);

    /// <summary>Adds this source's summary of the window to the report.</summary>
    void Contribute(TelemetryWindow window, TelemetryReport report);
}

/// <summary>The measured window in clock ticks, from the engine's result.</summary>
public readonly record struct TelemetryWindow(long Start, long End, long Frequency)
{
    public double Seconds => (double)(End - Start) / Frequency;

    public double ToSeconds(long ticks) => (double)ticks / Frequency;
}
