using System.Globalization;
using Harness.Metrics;
using Harness.Results;

namespace Harness.Gate;

/// <summary>
/// A metric the gate can compare, over a metric of the catalog (its unit and direction come from
/// there). Latency percentiles are compared on the per-request samples of each side
/// (<c>samples.latency_ms</c>, pooled over that side's files); run-level metrics (throughput) are
/// compared over repeated runs, one value per file.
/// </summary>
public sealed class GateMetric
{
    private GateMetric(string name, MetricDefinition metric, double? percentile, string description)
    {
        Name = name;
        Metric = metric;
        Percentile = percentile;
        Description = description;
    }

    /// <summary>The name users give to --metric and --threshold.</summary>
    public string Name { get; }

    /// <summary>The catalog metric it reads.</summary>
    public MetricDefinition Metric { get; }

    public string Unit => Metric.Unit.Replace(MetricDefinition.UnitPlaceholder + "/s", "/s", StringComparison.Ordinal);

    /// <summary>True for rates (a drop is a regression), false for latencies (a rise is).</summary>
    public bool HigherIsBetter => Metric.Better == Better.Higher;

    /// <summary>The quantile of per-request latency, or null for a run-level metric.</summary>
    public double? Percentile { get; }

    public bool IsPerRequest => Percentile is not null;

    public string Description { get; }

    /// <summary>The run-level value of one result; null when the result does not carry it (or for a per-request metric).</summary>
    public double? RunValue(ResultDocument doc) => IsPerRequest ? null : doc.Metrics.Value(Metric);

    public static IReadOnlyList<GateMetric> All { get; } =
    [
        Latency("latency_p50", 0.50),
        Latency("latency_p90", 0.90),
        Latency("latency_p95", 0.95),
        Latency("latency_p99", 0.99),
        Latency("latency_p999", 0.999),
        RunLevel("throughput", MetricCatalog.ThroughputPerS),
        RunLevel(MetricCatalog.RequestsPerS.Key, MetricCatalog.RequestsPerS),
        RunLevel("goodput", MetricCatalog.GoodputPerS),
    ];

    /// <summary>Compared when the user names none: the body and tails of latency, and throughput when runs were repeated.</summary>
    public static IReadOnlyList<string> DefaultNames { get; } = ["latency_p50", "latency_p90", "latency_p99", "throughput"];

    public static string KnownNames => string.Join(", ", All.Select(m => m.Name));

    public static GateMetric? Find(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name.Trim(), StringComparison.OrdinalIgnoreCase));

    public string FormatValue(double v) => v.ToString(Percentile is not null ? "0.###" : "0.##", CultureInfo.InvariantCulture) + " " + Unit;

    private static GateMetric Latency(string name, double p) =>
        new(name, MetricCatalog.LatencyMs, p, $"p{p * 100:0.#} of per-request latency (nearest rank), from samples.latency_ms");

    private static GateMetric RunLevel(string name, MetricDefinition metric) =>
        new(name, metric, null, $"{metric.Definition}; one value per run");
}
