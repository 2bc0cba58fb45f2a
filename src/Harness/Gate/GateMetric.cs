using System.Globalization;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Results;

namespace Harness.Gate;

/// <summary>
/// A metric the gate can compare, over a metric of the catalog (its unit and direction come from
/// there). Every metric is judged with the run as the unit of evidence: each run contributes one
/// value (its latency, TTFT or TPOT percentile, or its throughput), because requests within a run
/// are autocorrelated and share the run's own level (issue 19).
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

    /// <summary>The quantile of a per-request distribution (latency, TTFT, TPOT), or null for a one-number metric.</summary>
    public double? Percentile { get; }

    /// <summary>A percentile of a distribution in milliseconds (the noise floor applies).</summary>
    public bool IsPercentile => Percentile is not null;

    public string Description { get; }

    /// <summary>This run's value of the metric, or why it has none (not recorded, too few requests for the percentile).</summary>
    public (double? Value, string? WhyNot) RunValue(ResultDocument doc)
    {
        if (Percentile is not { } p)
        {
            return doc.Metrics.Value(Metric) is { } v ? (v, null) : (null, $"it does not record {Metric.Key}");
        }

        if (doc.Metrics.Distribution(Metric) is not { } dist)
        {
            return (null, $"it does not record {Metric.Key}");
        }

        long need = MinimumSamples(p);
        if (dist.Count < need)
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"{dist.Count} requests, {need} needed for its {Name} (early-stopping bound)"));
        }

        return (dist.Get(PercentileKey(p)), null);
    }

    /// <summary>Requests a run needs for a percentile to count: MLPerf's early-stopping bound with no miss, and at least 30.</summary>
    public static long MinimumSamples(double p) => Math.Max(30, p < 1 && p > 0.5 ? Statistics.EarlyStoppingMinimum(p) : 0);

    public static IReadOnlyList<GateMetric> All { get; } =
    [
        Percentiles("latency", MetricCatalog.LatencyMs, 0.50),
        Percentiles("latency", MetricCatalog.LatencyMs, 0.90),
        Percentiles("latency", MetricCatalog.LatencyMs, 0.95),
        Percentiles("latency", MetricCatalog.LatencyMs, 0.99),
        Percentiles("latency", MetricCatalog.LatencyMs, 0.999),
        Percentiles("ttft", MetricCatalog.TtftMs, 0.50),
        Percentiles("ttft", MetricCatalog.TtftMs, 0.99),
        Percentiles("tpot", MetricCatalog.TpotMs, 0.50),
        Percentiles("tpot", MetricCatalog.TpotMs, 0.99),
        RunLevel("throughput", MetricCatalog.ThroughputPerS),
        RunLevel(MetricCatalog.RequestsPerS.Key, MetricCatalog.RequestsPerS),
        RunLevel("goodput", MetricCatalog.GoodputPerS),
    ];

    /// <summary>Compared when the user names none: the body and tails of latency and throughput; TTFT and TPOT where every run records them.</summary>
    public static IReadOnlyList<string> DefaultNames { get; } = ["latency_p50", "latency_p90", "latency_p99", "throughput"];

    /// <summary>Added to the defaults when every run of both sides records them (LLM workloads).</summary>
    public static IReadOnlyList<string> TokenDefaultNames { get; } = ["ttft_p50", "ttft_p99", "tpot_p50"];

    public static string KnownNames => string.Join(", ", All.Select(m => m.Name));

    /// <summary>By name; "p50" alone means latency_p50.</summary>
    public static GateMetric? Find(string name)
    {
        string n = name.Trim();
        return All.FirstOrDefault(m => string.Equals(m.Name, n, StringComparison.OrdinalIgnoreCase))
            ?? All.FirstOrDefault(m => string.Equals(m.Name, "latency_" + n, StringComparison.OrdinalIgnoreCase));
    }

    public string FormatValue(double v) => v.ToString(Percentile is not null ? "0.###" : "0.##", CultureInfo.InvariantCulture) + " " + Unit;

    private static string PercentileKey(double p) => "p" + (p * 100).ToString("0.#", CultureInfo.InvariantCulture).Replace(".", "", StringComparison.Ordinal);

    private static GateMetric Percentiles(string prefix, MetricDefinition metric, double p) =>
        new($"{prefix}_{PercentileKey(p)}", metric, p, $"each run's {PercentileKey(p)} of {metric.Key} (nearest rank); one value per run");

    private static GateMetric RunLevel(string name, MetricDefinition metric) =>
        new(name, metric, null, $"{metric.Definition}; one value per run");
}
