using System.Globalization;

namespace Harness.Telemetry;

/// <summary>
/// The thresholds a run's disturbance was judged by, as the result's <c>telemetry.disturbance.limits</c>
/// records them. The quiet-host rule's <c>DisturbanceLimits</c> (Trust/Disturbance) is these, with
/// their defaults and the <c>--max-interference</c> grammar.
/// </summary>
public record DisturbanceThresholds
{
    /// <summary>Cores other processes may keep busy on average.</summary>
    public double MaxOtherCores { get; init; } = 0.1;

    /// <summary>Share of the CPU time the hypervisor may steal.</summary>
    public double MaxStealShare { get; init; } = 0.02;

    /// <summary>Processes other than this one that may use a GPU of the run.</summary>
    public int MaxGpuNeighbours { get; init; }

    /// <summary>Share of the window a GPU may spend in thermal or hardware slowdown.</summary>
    public double MaxHardwareThrottleShare { get; init; } = 0.1;

    /// <summary>A run over a limit stays valid, flagged as noisy in every view.</summary>
    public bool AllowNoisy { get; init; }

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"other processes at most {MaxOtherCores:0.###} cores, steal at most {MaxStealShare:0.#%}, at most {MaxGpuNeighbours} "
        + $"other process(es) per GPU, thermal or hardware GPU slowdown at most {MaxHardwareThrottleShare:0.#%} of the window");
}
