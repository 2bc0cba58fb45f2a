using Harness.Trust.Comparability;

namespace Harness.Gate;

/// <summary>A metric's verdict, and the whole comparison's.</summary>
public enum GateVerdict
{
    /// <summary>No change beyond the threshold that the data can show.</summary>
    Pass,
    /// <summary>Significantly better, beyond the threshold.</summary>
    Improvement,
    /// <summary>Too few runs to decide, no measured run-to-run spread, a disturbed run, or a large change that is not significant: never a silent pass.</summary>
    Inconclusive,
    /// <summary>Significantly worse AND beyond the threshold AND above the noise floor.</summary>
    Regression,
}

/// <summary>One metric compared, with the run as the unit: Base and Current are medians of the runs' values.</summary>
/// <param name="ChangePct">Estimated change, (ratio - 1) x 100: Hodges-Lehmann (rank test) or the ratio of geometric means (t-test).</param>
/// <param name="CiLowPct">Lower end of the (1 - 2 alpha) interval of the change, when the test gives one.</param>
/// <param name="PValue">One-sided p-value for "current is worse".</param>
/// <param name="BaseSamples">Runs on the base side that carry the metric.</param>
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

    /// <summary>The run-to-run spread the verdict leaned on, in words; null when none was measured.</summary>
    public string? Noise { get; init; }

    /// <summary>The smallest change these runs find with the gate's power (80%) at alpha, given the threshold.</summary>
    public double? SmallestDetectablePct { get; init; }

    /// <summary>Where the current runs sit in a history baseline ("above 29 of 30 runs, z = 2.4").</summary>
    public string? HistoryPosition { get; init; }
}

/// <summary>A run that was disturbed (other processes, steal, GPU neighbours, throttling), as the comparison saw it.</summary>
/// <param name="Blocks">True when it makes the comparison inconclusive (not allowed noisy).</param>
public sealed record DisturbedRun(string Side, string Run, IReadOnlyList<string> Causes, bool Blocks, string How);

/// <summary>One run of a side, as the gate used it: its level and its own (block-bootstrap) interval.</summary>
public sealed record RunRow(string Side, string Run, DateTime StartedUtc, bool Valid, double? LatencyP50, double? P50Low, double? P50High, double? Throughput, string? Disturbed);

/// <summary>The outcome of <c>harness compare</c>: one row per metric and the overall verdict.</summary>
public sealed record GateReport(
    string Workload,
    IReadOnlyList<string> BaseFiles,
    IReadOnlyList<string> CurrentFiles,
    GateOptions Options,
    IReadOnlyList<MetricComparison> Metrics,
    IReadOnlyList<string> Notes)
{
    /// <summary>How the two sides differ in hardware, runtimes and settings; null when not checked.</summary>
    public ComparabilityVerdict? Comparability { get; init; }

    /// <summary>Runs that were disturbed; any that <see cref="DisturbedRun.Blocks"/> makes the verdict inconclusive.</summary>
    public IReadOnlyList<DisturbedRun> Disturbed { get; init; } = [];

    /// <summary>
    /// How the evidence was made: <see cref="Interleaved"/> (each run one observation, the sides run one
    /// after the other) or <see cref="DuetGate.Design"/> (base and candidate at the same time, each pair's ratio one observation).
    /// </summary>
    public string Design { get; init; } = Interleaved;

    public const string Interleaved = "interleaved";

    /// <summary>Every run of both sides (a history: the window), in the order given.</summary>
    public IReadOnlyList<RunRow> Runs { get; init; } = [];

    /// <summary>The lines every view puts at its top: the machines differ, a run was disturbed or allowed noisy.</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            var lines = new List<string>(Comparability?.Statement(Options.ComparingConfigurations) ?? []);
            foreach (DisturbedRun d in Disturbed)
            {
                string state = d.Blocks ? "DISTURBED, so the comparison is inconclusive" : "NOISY (allowed)";
                string who = d.Side switch
                {
                    DuetGate.PairSide => $"duet pair {d.Run} was",
                    DuetGate.PairsSide => $"duet pairs {d.Run} were",
                    _ => $"{d.Side} run {d.Run} was",
                };
                lines.Add($"{who} {state}: {string.Join("; ", d.Causes)}{(d.How == "measured" ? "" : $" [{d.How}]")}.");
            }

            return lines;
        }
    }

    /// <summary>A disturbed run makes it inconclusive; else any regression fails; else any inconclusive metric is inconclusive; else pass.</summary>
    public GateVerdict Verdict =>
        Disturbed.Any(d => d.Blocks) ? GateVerdict.Inconclusive
        : Metrics.Any(m => m.Verdict == GateVerdict.Regression) ? GateVerdict.Regression
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
