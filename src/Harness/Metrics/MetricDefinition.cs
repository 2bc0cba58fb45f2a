using System.Globalization;

namespace Harness.Metrics;

/// <summary>Which way a metric improves: the gate's sense of a regression, the views' arrows.</summary>
public enum Better
{
    /// <summary>Rates and utilizations: a drop is a regression.</summary>
    Higher,

    /// <summary>Latencies, energy and cost: a rise is a regression.</summary>
    Lower,

    /// <summary>Counts and facts of the run (requests, window, FLOPs per token): neither.</summary>
    Neither,
}

/// <summary>How a metric's value is stored under a result's <c>metrics</c>.</summary>
public enum MetricShape
{
    /// <summary>One number.</summary>
    Value,

    /// <summary>A distribution summary in milliseconds (count, p50 ... p999, mean, CI), as <c>latency_ms</c>.</summary>
    Distribution,
}

/// <summary>
/// One metric, declared once in <see cref="MetricCatalog"/>: the name it has under a result's
/// <c>metrics</c> (and in <c>metric_definitions</c>), its unit, which way is better, its formula, and
/// the Prometheus gauge a finished run publishes it as. Writers, views, the gate, the exporter and
/// every reader take these from here (after crank's MeasurementMetadata).
/// </summary>
public sealed record MetricDefinition(string Key, string Unit, Better Better, string Definition)
{
    public MetricShape Shape { get; init; } = MetricShape.Value;

    /// <summary>Short name for tables and chart axes; the key when not set.</summary>
    public string Label { get => field ?? Key.Replace('_', ' '); init; }

    /// <summary>
    /// Gauge name a finished run publishes (base units, Prometheus conventions); null when the metric
    /// is not exported. A distribution is published per percentile (label <c>percentile</c>).
    /// </summary>
    public string? Prometheus { get; init; }

    /// <summary>Multiplier from the stored unit to the Prometheus base unit (ms to s: 0.001).</summary>
    public double PrometheusScale { get; init; } = 1;

    /// <summary>Numeric format for views (invariant culture).</summary>
    public string Format { get; init; } = "0.###";

    /// <summary>True when the definition depends on the run's output unit (samples, tokens...).</summary>
    public bool PerUnit => Definition.Contains(UnitPlaceholder, StringComparison.Ordinal) || Unit.Contains(UnitPlaceholder, StringComparison.Ordinal);

    public const string UnitPlaceholder = "{unit}";

    public bool IsDistribution => Shape == MetricShape.Distribution;

    /// <summary>The formula as written into a result whose output unit is <paramref name="unit"/>.</summary>
    public string DefinitionFor(string unit) => Definition.Replace(UnitPlaceholder, unit, StringComparison.Ordinal);

    /// <summary>The unit for a result whose output unit is <paramref name="unit"/> (e.g. tokens/s).</summary>
    public string UnitFor(string unit) => Unit.Replace(UnitPlaceholder, unit, StringComparison.Ordinal);

    /// <summary>The value with its unit, as the views print it.</summary>
    public string Display(double value, string outputUnit = "units")
    {
        string number = value.ToString(Format, CultureInfo.InvariantCulture);
        string unit = UnitFor(outputUnit);
        return unit switch
        {
            "" or "fraction" or "count" => unit == "fraction" ? value.ToString("P1", CultureInfo.InvariantCulture) : number,
            _ => $"{number} {unit}",
        };
    }

    public override string ToString() => Key;
}
