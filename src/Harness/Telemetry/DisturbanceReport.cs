using System.Text.Json.Serialization;

namespace Harness.Telemetry;

/// <summary>
/// The result's <c>telemetry.disturbance</c> section: what else used the machine during the measured
/// window, on the telemetry clock, and the verdict of the quiet-host rule (Trust/Disturbance's
/// DisturbanceJudge, which first turns <see cref="Host"/> into the host figures). Values that could
/// not be read are null, never zero.
/// </summary>
public sealed class DisturbanceReport
{
    /// <summary>
    /// CPU time of every other process in the window (machine user + nice + system minus this process,
    /// the children it reaped and the server under test), in seconds.
    /// </summary>
    public double? OtherProcessesCpuS { get; set; }

    /// <summary><see cref="OtherProcessesCpuS"/> / window: how many cores other processes kept busy on average.</summary>
    public double? OtherProcessesCores { get; set; }

    /// <summary><see cref="OtherProcessesCores"/> / logical cores, 0 to 1.</summary>
    public double? OtherProcessesShare { get; set; }

    /// <summary>This process (and its reaped children) in cores, over the same ticks: the other side of the subtraction.</summary>
    public double? OwnProcessCores { get; set; }

    /// <summary>The server under test (telemetry.server) in cores over the same ticks: subtracted too, it is not a neighbour.</summary>
    public double? ServerProcessCores { get; set; }

    /// <summary>Cores spent in interrupts (irq + softirq), not charged to any process.</summary>
    public double? InterruptCores { get; set; }

    /// <summary>Share of the machine's CPU time the hypervisor gave to other guests (/proc/stat steal).</summary>
    public double? StealShare { get; set; }

    public double? StealCores { get; set; }

    /// <summary>Mean CPU clock over the window (scaling_cur_freq, else /proc/cpuinfo "cpu MHz"); null where neither is readable.</summary>
    public double? CpuFrequencyAvgMhz { get; set; }

    public double? CpuFrequencyMinMhz { get; set; }

    public double? CpuFrequencyMaxMhz { get; set; }

    /// <summary>Readings in the window whose mean clock moved more than 5% from the previous reading.</summary>
    public int? CpuFrequencyChanges { get; set; }

    /// <summary>Share of the window in which some task waited for a CPU (/proc/pressure/cpu "some"); this process's own threads count too.</summary>
    public double? PressureCpuSome { get; set; }

    /// <summary>Share of the window in which some task stalled on memory (reclaim, swap-in).</summary>
    public double? PressureMemorySome { get; set; }

    /// <summary>Share of the window in which every non-idle task stalled on memory.</summary>
    public double? PressureMemoryFull { get; set; }

    public double? PressureIoSome { get; set; }

    /// <summary>Per GPU: other processes on it and the throttling that is not the card's normal power limit.</summary>
    public List<GpuDisturbance> Gpus { get; set; } = [];

    /// <summary>
    /// The host counters over the window, as the CPU source read them, until the disturbance analysis
    /// fills the figures above from them (and clears this); never written to the file.
    /// </summary>
    [JsonIgnore]
    public HostCounterDeltas? Host { get; set; }

    /// <summary>What could not be measured here, and why.</summary>
    public List<string> Notes { get; set; } = [];

    /// <summary>The thresholds the run was judged by; null until judged.</summary>
    public DisturbanceThresholds? Limits { get; set; }

    /// <summary>True when a figure passed its limit; null until judged.</summary>
    public bool? Disturbed { get; set; }

    /// <summary>The run was disturbed but kept valid by --allow-noisy: flagged in every view.</summary>
    public bool AllowedNoisy { get; set; }

    /// <summary>Each figure over its limit, as a sentence ("other processes used 1.02 cores (51%) during the window").</summary>
    public List<string> Causes { get; set; } = [];
}

/// <summary>One GPU's neighbours and throttling over the window.</summary>
public sealed class GpuDisturbance
{
    public int Index { get; set; }

    /// <summary>Most processes other than this one seen on the GPU at one reading (NVML's running compute processes).</summary>
    public int? OtherProcesses { get; set; }

    /// <summary>Their PIDs as NVML reports them (the host's PID namespace), at most 16.</summary>
    public List<int> OtherPids { get; set; } = [];

    /// <summary>False when NVML listed processes but not this one: in a container NVML reports host PIDs, so one of the "others" may be this run.</summary>
    public bool? OwnProcessSeen { get; set; }

    /// <summary>Seconds of the window with a thermal or hardware slowdown (sw_thermal, hw_thermal, hw_slowdown, hw_power_brake).</summary>
    public double? HardwareThrottleS { get; set; }

    /// <summary>Seconds at the software power cap: how a card runs at its power limit, reported but not a disturbance.</summary>
    public double? PowerCapS { get; set; }
}
