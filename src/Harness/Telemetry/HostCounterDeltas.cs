namespace Harness.Telemetry;

/// <summary>
/// What the host's counters moved over the measured window, as the CPU source read them: the
/// material of the disturbance analysis (<c>Trust/Disturbance/HostDisturbance</c>), which turns them
/// into the figures of <see cref="DisturbanceReport"/>. Ticks are /proc/stat clock ticks (USER_HZ);
/// a counter whose readings do not bracket the window is null.
/// </summary>
public sealed record HostCounterDeltas
{
    public int LogicalCores { get; init; }

    /// <summary>USER_HZ: clock ticks per second of /proc times.</summary>
    public double ClockTicksPerSecond { get; init; }

    public double WindowSeconds { get; init; }

    /// <summary>All eight fields of the machine's cpu line (user to steal).</summary>
    public double? TotalTicks { get; init; }

    /// <summary>user + nice + system.</summary>
    public double? UserSystemTicks { get; init; }

    /// <summary>irq + softirq.</summary>
    public double? InterruptTicks { get; init; }

    public double? StealTicks { get; init; }

    /// <summary>This process's CPU seconds with its reaped children's.</summary>
    public double? OwnWithChildrenS { get; init; }

    /// <summary>The server under test's CPU seconds (its process tree); null when it is not measured.</summary>
    public double? ServerCpuS { get; init; }

    /// <summary>/proc/pressure stall time in microseconds.</summary>
    public double? PressureCpuSomeUs { get; init; }

    public double? PressureMemorySomeUs { get; init; }

    public double? PressureMemoryFullUs { get; init; }

    public double? PressureIoSomeUs { get; init; }

    /// <summary>Mean core clock (MHz) of each clock reading in the window and of the last one before it, in order.</summary>
    public IReadOnlyList<double> FrequenciesMhz { get; init; } = [];
}
