using System.Globalization;
using System.Text.Json;
using Harness.Results;

namespace Harness.Gate;

/// <summary>
/// A metric the gate can compare. Latency percentiles are compared on the per-request samples of
/// each side (<c>samples.latency_ms</c>, pooled over that side's files); run-level metrics
/// (throughput) are compared over repeated runs, one value per file.
/// </summary>
public sealed class GateMetric
{
    private readonly Func<ResultDocument, double?>? _runValue;

    private GateMetric(string name, string unit, bool higherIsBetter, double? percentile, Func<ResultDocument, double?>? runValue, string description)
    {
        Name = name;
        Unit = unit;
        HigherIsBetter = higherIsBetter;
        Percentile = percentile;
        _runValue = runValue;
        Description = description;
    }

    public string Name { get; }

    public string Unit { get; }

    /// <summary>True for rates (a drop is a regression), false for latencies (a rise is).</summary>
    public bool HigherIsBetter { get; }

    /// <summary>The quantile of per-request latency, or null for a run-level metric.</summary>
    public double? Percentile { get; }

    public bool IsPerRequest => Percentile is not null;

    public string Description { get; }

    /// <summary>The run-level value of one result; null when the result does not carry it.</summary>
    public double? RunValue(ResultDocument doc) => _runValue?.Invoke(doc);

    public static IReadOnlyList<GateMetric> All { get; } =
    [
        Latency("latency_p50", 0.50),
        Latency("latency_p90", 0.90),
        Latency("latency_p95", 0.95),
        Latency("latency_p99", 0.99),
        Latency("latency_p999", 0.999),
        new("throughput", "/s", true, null, d => d.Metrics.ThroughputPerS, "output units (samples or tokens) per second, one value per run"),
        new("requests_per_s", "req/s", true, null, d => d.Metrics.RequestsPerS, "ok requests per second, one value per run"),
        new("goodput", "req/s", true, null, d => Extra(d, "goodput_per_s"), "requests per second meeting every SLO, one value per run (needs --slo)"),
    ];

    /// <summary>Compared when the user names none: the body and tails of latency, and throughput when runs were repeated.</summary>
    public static IReadOnlyList<string> DefaultNames { get; } = ["latency_p50", "latency_p90", "latency_p99", "throughput"];

    public static string KnownNames => string.Join(", ", All.Select(m => m.Name));

    public static GateMetric? Find(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name.Trim(), StringComparison.OrdinalIgnoreCase));

    public string FormatValue(double v) => Percentile is not null
        ? v.ToString("0.###", CultureInfo.InvariantCulture) + " ms"
        : v.ToString("0.##", CultureInfo.InvariantCulture) + " " + Unit;

    private static GateMetric Latency(string name, double p) =>
        new(name, "ms", false, p, null, $"p{p * 100:0.#} of per-request latency (nearest rank), from samples.latency_ms");

    private static double? Extra(ResultDocument doc, string key)
    {
        if (doc.Metrics.Extra is null || !doc.Metrics.Extra.TryGetValue(key, out object? v) || v is null)
        {
            return null;
        }

        return v switch
        {
            JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
            double d => d,
            long l => l,
            int i => i,
            _ => null,
        };
    }
}
