using System.Text.Json.Serialization;
using Harness.Measurement;

namespace Harness.Fleet;

/// <summary>
/// One fleet run merged: every node's figures, the aggregate, the spread across nodes, and which
/// nodes stand out. A plain model, so that any report (terminal, JSON, HTML) can render it.
/// Every task appears in <see cref="Nodes"/>, including those that failed, went missing or were refused.
/// </summary>
public sealed class FleetSummary
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; set; } = CurrentSchemaVersion;

    public string Kind { get; set; } = "fleet_summary";

    public DateTime CreatedUtc { get; set; }

    /// <summary>The results folder merged.</summary>
    public string Source { get; set; } = "";

    public string? JobId { get; set; }

    /// <summary>What every merged node ran; null when no node result could be read.</summary>
    public FleetSuite? Suite { get; set; }

    public OutlierRule Rule { get; set; } = new();

    /// <summary>Tasks the fleet was submitted with; null when unknown (then only tasks that left a trace are listed).</summary>
    public int? ExpectedTasks { get; set; }

    public List<NodeSummary> Nodes { get; set; } = [];

    public FleetAggregate Aggregate { get; set; } = new();

    /// <summary>Spread across measured nodes, by metric: throughput_per_s, latency_p50_ms, latency_p99_ms (of the one hardware group; per group in <see cref="Groups"/> when there are several).</summary>
    public Dictionary<string, SpreadSummary> Spread { get; set; } = [];

    /// <summary>The nodes grouped by what moves speed (CPU, ISA, cores, memory, GPUs, runtimes): outliers are judged within a group, never across.</summary>
    public List<FleetGroup> Groups { get; set; } = [];

    /// <summary>Things a reader must know to read the figures right (too few nodes for outliers...).</summary>
    public List<string> Notes { get; set; } = [];

    /// <summary>Every expected task measured, valid and unflagged, and nothing refused.</summary>
    public bool Healthy { get; set; }
}

/// <summary>The identity every node of one fleet shares: same schema, workload, backend, scenario and settings.</summary>
public sealed class FleetSuite
{
    public int SchemaVersion { get; set; }

    public string Workload { get; set; } = "";

    public string Backend { get; set; } = "";

    public string Scenario { get; set; } = "";

    /// <summary>The result's config without per-node entries (command line, clock frequency).</summary>
    public Dictionary<string, object?> Config { get; set; } = [];
}

/// <summary>The outlier rule, stated in the summary so that a reader can check a flag.</summary>
public sealed class OutlierRule
{
    /// <summary>Robust deviations (MAD x 1.4826) from the fleet median beyond which a node is flagged.</summary>
    public double K { get; set; } = 3.5;

    /// <summary>Smallest relative distance from the median that is flagged: a noise floor for fleets of near-identical nodes.</summary>
    public double MinDeviation { get; set; } = 0.02;

    /// <summary>Fewest measured nodes for which outliers are looked for.</summary>
    public int MinNodes { get; set; } = 3;

    public string Definition { get; set; } =
        "flagged when |x - median| > k * 1.4826 * MAD and |x - median| > min_deviation * median, on throughput_per_s, latency_p50_ms or latency_p99_ms, among the undisturbed nodes of the same hardware group; or when the telemetry reports throttle time";
}

/// <summary>How a task ended, as far as the merge can tell.</summary>
public enum NodeStatus
{
    /// <summary>A valid result.</summary>
    Ok,

    /// <summary>A result that failed a validity condition; its figures still count in the spread.</summary>
    Invalid,

    /// <summary>The task ended without a usable result (non-zero exit, cancelled run, timed out); the reason says why.</summary>
    Failed,

    /// <summary>No result and no exit record: pending, still running, killed, or never started.</summary>
    Missing,

    /// <summary>A result that cannot be merged: another schema version, another suite, or not a result file.</summary>
    Refused,

    /// <summary>A result taken while other work used the machine (other processes, steal, GPU neighbours): not slow, disturbed; left out of the spread and the outlier rule.</summary>
    Disturbed,
}

/// <summary>Nodes whose hardware and runtimes agree on everything that moves speed.</summary>
public sealed class FleetGroup
{
    /// <summary>1, 2, ...: the group with the most nodes first.</summary>
    public int Id { get; set; }

    /// <summary>The hardware in a few words ("AMD EPYC, 2 cores, avx512f").</summary>
    public string Hardware { get; set; } = "";

    public int Nodes { get; set; }

    /// <summary>How this group's machines differ from group 1's ("cpu features: ... -> ..."); empty for group 1.</summary>
    public List<string> DiffersFromFirst { get; set; } = [];

    public Dictionary<string, SpreadSummary> Spread { get; set; } = [];
}

/// <summary>One task's line in the fleet table.</summary>
public sealed class NodeSummary
{
    /// <summary>The array or completion index; null for a result file that is not named task-N.json.</summary>
    public int? Task { get; set; }

    /// <summary>The scheduler's node name, else the result's hostname, else the file name.</summary>
    public string Name { get; set; } = "";

    public string? Hostname { get; set; }

    /// <summary>The GPU the task used (name and index), when it used one.</summary>
    public string? Gpu { get; set; }

    public string? Cpu { get; set; }

    /// <summary>The result file, relative to the merged folder.</summary>
    public string? File { get; set; }

    public NodeStatus Status { get; set; }

    /// <summary>Why the node is not OK (or what is worth knowing about it); null when nothing is.</summary>
    public string? Reason { get; set; }

    public int? ExitCode { get; set; }

    public string? SchedulerState { get; set; }

    /// <summary>The last lines of the task's stderr (or stdout), for failed and missing tasks.</summary>
    public List<string>? LogTail { get; set; }

    public bool? Valid { get; set; }

    public double? ThroughputPerS { get; set; }

    public string? ThroughputUnit { get; set; }

    public double? LatencyP50Ms { get; set; }

    public double? LatencyP99Ms { get; set; }

    public long? RequestsOk { get; set; }

    public long? RequestsFailed { get; set; }

    /// <summary>Seconds of throttling reported by the result's telemetry section; null where none was reported.</summary>
    public double? ThrottleS { get; set; }

    public List<OutlierFlag> Flags { get; set; } = [];

    /// <summary>The hardware group (<see cref="FleetSummary.Groups"/>) the node was judged in; null without a result.</summary>
    public int? Group { get; set; }

    /// <summary>What disturbed the run (other processes, steal, GPU neighbours), also when it was allowed noisy; null when quiet or not measured.</summary>
    public string? Disturbance { get; set; }

    public bool Outlier => Flags.Count > 0;

    /// <summary>Its figures count in the aggregate: a result that ran to the end, valid or not, disturbed or not.</summary>
    [JsonIgnore]
    public bool Measured => Status is NodeStatus.Ok or NodeStatus.Invalid or NodeStatus.Disturbed;

    /// <summary>Its figures are judged against the others: measured and not disturbed.</summary>
    [JsonIgnore]
    public bool Judged => Measured && Disturbance is null;
}

/// <summary>Why a node was flagged.</summary>
/// <param name="Metric">throughput_per_s, latency_p50_ms, latency_p99_ms or throttle_s.</param>
/// <param name="RobustDeviations">(value - median) / (1.4826 x MAD); null when the MAD is 0 (the other nodes agree exactly).</param>
/// <param name="Direction">"slow" or "fast" (relative to the fleet); "throttled".</param>
public sealed record OutlierFlag(string Metric, double Value, double Median, double? RobustDeviations, string Direction, string Reason);

/// <summary>Spread of one metric across the measured nodes.</summary>
public sealed class SpreadSummary
{
    public int Count { get; set; }

    public double Median { get; set; }

    /// <summary>Median absolute deviation (unscaled).</summary>
    public double Mad { get; set; }

    public double Min { get; set; }

    public double Max { get; set; }

    /// <summary>Coefficient of variation: standard deviation / mean.</summary>
    public double Cv { get; set; }
}

/// <summary>The fleet as one: counts of nodes by state, and the work all measured nodes did together.</summary>
public sealed class FleetAggregate
{
    public int NodesListed { get; set; }

    public int NodesMeasured { get; set; }

    public int NodesValid { get; set; }

    public int NodesFlagged { get; set; }

    public int NodesFailed { get; set; }

    public int NodesMissing { get; set; }

    public int NodesRefused { get; set; }

    public int NodesDisturbed { get; set; }

    /// <summary>Sum over measured nodes: what the fleet delivers when every node works at once.</summary>
    public double ThroughputPerS { get; set; }

    public string? ThroughputUnit { get; set; }

    public long RequestsOk { get; set; }

    public long RequestsFailed { get; set; }

    /// <summary>Latency of all measured nodes' requests pooled (from the per-request samples in the files); null when not every node kept them alike.</summary>
    public DistributionSummary? LatencyMs { get; set; }

    public string? LatencyNote { get; set; }
}
