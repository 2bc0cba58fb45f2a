using Harness.Metrics;

namespace Harness.Fleet;

/// <summary>
/// The names a fleet summary gives the figures it judges: the keys of <see cref="FleetSummary.Spread"/>
/// and <see cref="OutlierFlag.Metric"/>. Throughput is the catalog's key; the latency percentiles are
/// the fleet file's own names for <see cref="MetricCatalog.LatencyMs"/>'s p50 and p99 (a result stores
/// them inside the latency_ms distribution), and throttle_s is the telemetry's field.
/// </summary>
public static class FleetMetricNames
{
    public static string ThroughputPerS => MetricCatalog.ThroughputPerS.Key;

    /// <summary>p50 of <see cref="MetricCatalog.LatencyMs"/>, as the fleet summary names it.</summary>
    public const string LatencyP50Ms = "latency_p50_ms";

    /// <summary>p99 of <see cref="MetricCatalog.LatencyMs"/>, as the fleet summary names it.</summary>
    public const string LatencyP99Ms = "latency_p99_ms";

    /// <summary>Seconds of clock throttling of the GPU a node used (telemetry.gpus[].throttle_s).</summary>
    public const string ThrottleS = "throttle_s";
}
