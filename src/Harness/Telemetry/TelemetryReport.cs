using System.Text.Json.Serialization;
using Harness.Measurement;

namespace Harness.Telemetry;

/// <summary>
/// The result file's <c>telemetry</c> section: what the samplers saw during the measured window.
/// Present in every result; <see cref="Enabled"/> false and <see cref="Note"/> say why when absent.
/// Values that were not measured are null, never zero.
/// </summary>
public sealed class TelemetryReport
{
    public bool Enabled { get; set; }

    /// <summary>Why telemetry is absent or partial; null when every source was read.</summary>
    public string? Note { get; set; }

    public double? IntervalMs { get; set; }

    /// <summary>Length of the measured window the summaries cover, in seconds.</summary>
    public double? WindowS { get; set; }

    /// <summary>Health of each source: enough to tell a dead or stalled sampler from a quiet machine.</summary>
    public List<SourceHealth> Sources { get; set; } = [];

    /// <summary>Why there is no GPU telemetry (no NVML, no GPU); null when GPUs were read.</summary>
    public string? GpuNote { get; set; }

    public List<GpuTelemetry> Gpus { get; set; } = [];

    public CpuTelemetry? Cpu { get; set; }

    /// <summary>Energy of the device the backend ran on (its GPU, or the CPU packages for a CPU backend).</summary>
    public EnergySummary? Energy { get; set; }

    /// <summary>Every GPU plus the CPU packages: only where CPU package energy was readable.</summary>
    public EnergySummary? NodeEnergy { get; set; }

    /// <summary>
    /// The server under test on this machine (run generate -b openai:URL, run agents --llm openai:URL):
    /// its CPU and memory, or why they were not measured.
    /// </summary>
    public ServerProcessTelemetry? Server { get; set; }

    /// <summary>What else used the machine in the window (other processes, steal, clocks, pressure, GPU neighbours) and the quiet-host verdict.</summary>
    public DisturbanceReport? Disturbance { get; set; }

    public static TelemetryReport Disabled(string why) => new() { Enabled = false, Note = why };
}

/// <summary>One source's sampling record over the window.</summary>
public sealed class SourceHealth
{
    /// <summary>"gpu" or "cpu".</summary>
    public string Name { get; set; } = "";

    /// <summary>Null when the source was readable; otherwise why it recorded nothing.</summary>
    public string? Unavailable { get; set; }

    /// <summary>Readings taken while the sampler ran (window edges included).</summary>
    public long Samples { get; set; }

    /// <summary>Readings that threw; the sampler carried on.</summary>
    public long Errors { get; set; }

    /// <summary>Longest part of the window without a reading, in seconds.</summary>
    public double? MaxGapS { get; set; }

    /// <summary>True when readings exist at or before the window start and at or after its end.</summary>
    public bool CoversWindow { get; set; }

    /// <summary>The sampler did not finish its last reading in time (a call into the driver hung).</summary>
    public bool Stalled { get; set; }

    public List<ErrorCount> ErrorMessages { get; set; } = [];
}

/// <summary>One GPU over the window (NVML index).</summary>
public sealed class GpuTelemetry
{
    public int Index { get; set; }

    public string? Name { get; set; }

    public string? Uuid { get; set; }

    public long Samples { get; set; }

    public double? PowerAvgW { get; set; }

    public double? PowerPeakW { get; set; }

    public double? EnergyJ { get; set; }

    /// <summary>"counter" (delta of NVML's total-energy counter) or "power_integration" (fallback).</summary>
    public string? EnergyMethod { get; set; }

    /// <summary>Time-weighted mean of NVML's utilization.gpu: the share of time a kernel was running.</summary>
    public double? BusyFraction { get; set; }

    public double? MemoryUtilizationAvg { get; set; }

    public long? MemoryUsedPeakBytes { get; set; }

    public double? SmClockAvgMhz { get; set; }

    public double? MemoryClockAvgMhz { get; set; }

    public double? TemperatureAvgC { get; set; }

    public double? TemperaturePeakC { get; set; }

    /// <summary>Seconds of the window in which a clock-event reason other than idle or application clocks was active.</summary>
    public double? ThrottleS { get; set; }

    /// <summary>Seconds per active reason (sw_power_cap, hw_slowdown, sw_thermal...).</summary>
    public Dictionary<string, double>? ThrottleReasonsS { get; set; }

    public TelemetrySeries? Series { get; set; }
}

/// <summary>The host CPU and this process over the window.</summary>
public sealed class CpuTelemetry
{
    public int LogicalCores { get; set; }

    public long Samples { get; set; }

    /// <summary>Busy share of all cores (/proc/stat: not idle, not iowait), 0 to 1.</summary>
    public double? UtilizationAvg { get; set; }

    public double? UtilizationPeak { get; set; }

    /// <summary>Busy share of each core over the window, by core number; null for a core that was offline.</summary>
    public double?[]? PerCoreUtilization { get; set; }

    /// <summary>CPU time of the harness process (user + system) in the window.</summary>
    public double? ProcessCpuS { get; set; }

    /// <summary><see cref="ProcessCpuS"/> / window: how many cores the process kept busy on average.</summary>
    public double? ProcessCpuCores { get; set; }

    public long? ProcessRssPeakBytes { get; set; }

    /// <summary>RAPL package energy (all packages) over the window; null where not readable.</summary>
    public double? PackageEnergyJ { get; set; }

    public double? PackagePowerAvgW { get; set; }

    public double? PackagePowerPeakW { get; set; }

    /// <summary>Why package energy is missing (no powercap, not readable without root...); null when read.</summary>
    public string? PackageEnergyNote { get; set; }

    public TelemetrySeries? Series { get; set; }
}

/// <summary>
/// The server under test over the window (issue 24): the process tree that listens on the URL's port
/// (or <c>--server-pid</c>'s), read with the CPU telemetry on the run's clock. Its CPU is part of the
/// measurement, so quiet_host does not count it among the other processes.
/// </summary>
public sealed class ServerProcessTelemetry
{
    public string? Url { get; set; }

    /// <summary>The processes found before the run (the socket's owners, or the PID given); their children count too.</summary>
    public List<int> Pids { get; set; } = [];

    /// <summary>"listens on port 8000" or "--server-pid 1234".</summary>
    public string? How { get; set; }

    /// <summary>Command name of the first process (/proc/PID/stat).</summary>
    public string? Command { get; set; }

    /// <summary>Most processes of the tree at one reading (the server and its children).</summary>
    public int? Processes { get; set; }

    /// <summary>utime + stime of the tree in the window, in seconds.</summary>
    public double? CpuS { get; set; }

    /// <summary><see cref="CpuS"/> / window: cores the server kept busy on average.</summary>
    public double? CpuCores { get; set; }

    /// <summary>Highest sum of the tree's resident memory at one reading.</summary>
    public long? RssPeakBytes { get; set; }

    /// <summary>"server CPU not measured: ..." when it was not; null when it was.</summary>
    public string? Note { get; set; }
}

/// <summary>Energy of a set of measured parts over the window, and what it buys.</summary>
public sealed class EnergySummary
{
    /// <summary>What was measured, e.g. ["gpu:0"], ["cpu_package"], ["gpu:0", "gpu:1", "cpu_package"].</summary>
    public List<string> Parts { get; set; } = [];

    /// <summary>How: "counter" (delta of a hardware energy counter), "power_integration", or both joined by "+".</summary>
    public string Method { get; set; } = "";

    public double EnergyJ { get; set; }

    /// <summary>Energy / window.</summary>
    public double? AvgPowerW { get; set; }

    /// <summary>Highest sampled power (one part only; null when several parts are summed).</summary>
    public double? PeakPowerW { get; set; }

    /// <summary>The work unit of the run ("tokens", "samples").</summary>
    public string Unit { get; set; } = "";

    /// <summary>Energy per output unit of the ok requests.</summary>
    public double? JoulesPerUnit { get; set; }

    public double? UnitsPerJoule { get; set; }

    public string? Note { get; set; }
}

/// <summary>
/// A bounded time series for charts (at most a few hundred points): <c>t_s</c>, seconds from the window
/// start, and beside it one array per quantity (<c>power_w</c>, <c>utilization</c>...), null where not read.
/// </summary>
public sealed class TelemetrySeries
{
    [JsonPropertyName("t_s")]
    public double[] TS { get; set; } = [];

    [JsonExtensionData]
    public Dictionary<string, object?> Columns { get; set; } = [];
}
