using Harness.Metrics;

namespace Harness.Engine;

/// <summary>
/// A workload that knows more about its work than the engine does (FLOPs per token, bytes per decode
/// step...) derives extra metrics from the measured outcome. The engine calls it once after the
/// measured phase; the result file lists each metric under <c>metrics</c> with its formula under
/// <c>metric_definitions</c>.
/// </summary>
public interface IDerivedMetrics
{
    IReadOnlyList<DerivedMetric> Derive(EngineResult run);

    /// <summary>Distributions (milliseconds) the workload measured itself, each a catalog metric (TTFO, per-event ITL...).</summary>
    IReadOnlyList<DerivedDistribution> DeriveDistributions(EngineResult run) => [];

    /// <summary>
    /// Conditions of the workload's own for the validity verdict, e.g. a load generator that was the
    /// bottleneck (its CPU, or requests sent late against their schedule).
    /// </summary>
    IReadOnlyList<Validity.ValidityCondition> Conditions(EngineResult run) => [];
}

/// <summary>One distribution a workload measured: a catalog metric and its summary (null when it had no sample).</summary>
public sealed record DerivedDistribution(MetricDefinition Metric, Measurement.DistributionSummary? Summary, string? Detail = null);

/// <summary>One derived metric: snake_case name, value (null where it cannot be computed) and its formula.</summary>
public sealed record DerivedMetric(string Name, double? Value, string Definition)
{
    /// <summary>A metric of the catalog, with what this run adds to its formula (the peak used, the model...).</summary>
    public DerivedMetric(MetricDefinition metric, double? value, string? detail = null)
        : this(metric.Key, value, detail is null ? metric.Definition : $"{metric.Definition} ({detail})")
    {
    }
}
