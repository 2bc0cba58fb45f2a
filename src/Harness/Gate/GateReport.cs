namespace Harness.Gate;

/// <summary>A metric's verdict, and the whole comparison's.</summary>
public enum GateVerdict
{
    /// <summary>No change beyond the threshold that the data can show.</summary>
    Pass,
    /// <summary>Significantly better, beyond the threshold.</summary>
    Improvement,
    /// <summary>Too few samples to decide, or a large change that is not significant: never a silent pass.</summary>
    Inconclusive,
    /// <summary>Significantly worse AND beyond the threshold AND above the noise floor.</summary>
    Regression,
}

/// <summary>One metric compared.</summary>
/// <param name="ChangePct">(current / base - 1) x 100 of the metric's point estimates.</param>
/// <param name="CiLowPct">Lower end of the (1 - 2 alpha) interval of the change, when the test gives one.</param>
/// <param name="PValue">One-sided p-value for "current is worse".</param>
/// <param name="Reason">One sentence saying why the verdict is what it is.</param>
public sealed record MetricComparison(
    string Metric,
    string Test,
    double? Base,
    double? Current,
    double? ChangePct,
    double? CiLowPct,
    double? CiHighPct,
    double? PValue,
    int BaseSamples,
    int CurrentSamples,
    double ThresholdPct,
    GateVerdict Verdict,
    string Reason)
{
    public GateMetric Definition => GateMetric.Find(Metric)!;
}

/// <summary>The outcome of <c>harness compare</c>: one row per metric and the overall verdict.</summary>
public sealed record GateReport(
    string Workload,
    IReadOnlyList<string> BaseFiles,
    IReadOnlyList<string> CurrentFiles,
    GateOptions Options,
    IReadOnlyList<MetricComparison> Metrics,
    IReadOnlyList<string> Notes)
{
    /// <summary>Any regression fails; otherwise any inconclusive metric is inconclusive; otherwise pass.</summary>
    public GateVerdict Verdict =>
        Metrics.Any(m => m.Verdict == GateVerdict.Regression) ? GateVerdict.Regression
        : Metrics.Count == 0 || Metrics.Any(m => m.Verdict == GateVerdict.Inconclusive) ? GateVerdict.Inconclusive
        : GateVerdict.Pass;

    /// <summary>0 pass, 1 regression, 3 inconclusive (2, bad input, is raised before a report exists).</summary>
    public int ExitCode => Verdict switch
    {
        GateVerdict.Regression => ExitCodes.Regression,
        GateVerdict.Inconclusive => ExitCodes.Inconclusive,
        _ => ExitCodes.Ok,
    };

    public static string Word(GateVerdict v) => v switch
    {
        GateVerdict.Pass => "pass",
        GateVerdict.Improvement => "improvement",
        GateVerdict.Inconclusive => "inconclusive",
        _ => "REGRESSION",
    };
}
