using Harness.Measurement;
using Harness.Metrics;
using Harness.Results;
using Harness.Results.Validity;
using Harness.Trust;
using Harness.Trust.Comparability;
using Harness.Trust.Noise;
using MathNet.Numerics.Distributions;
using static System.FormattableString;

namespace Harness.Gate;

/// <summary>
/// Decides whether CURRENT regressed against BASE, metric by metric, with the run as the unit of
/// evidence (issue 19): each run's p50, p99, TTFT, TPOT or throughput is one observation, since the
/// requests of a run share its level and are autocorrelated. A regression needs BOTH a significant
/// one-sided test AND an estimated change beyond the metric's threshold (default 10%) AND, for a
/// percentile, a difference above the noise floor (after dotnet/performance's ResultsComparer):
/// <list type="bullet">
/// <item>four or more runs per side: exact Mann-Whitney U over the runs' log values, Hodges-Lehmann estimate and Moses interval of the ratio;</item>
/// <item>fewer: Student's t on the log values, with the run-to-run spread measured by the repeats of either side or a history (the noise model);</item>
/// <item>no measured spread (one run per side and no history): inconclusive, saying how many runs per side would resolve the change.</item>
/// </list>
/// Before any of it, the trust rules (src/Harness/Trust): runs that differ in what moves speed are
/// refused unless allowed, and a disturbed run makes the comparison inconclusive unless allowed noisy.
/// </summary>
public static class RegressionGate
{
    /// <summary>Runs per side from which the rank test is used (with alpha 0.05 its smallest p-value is 1/70).</summary>
    public const int RankTestRuns = 4;

    /// <summary>Expands the two specs (file, folder or glob; a history folder with --history), checks they can be compared, and compares.</summary>
    public static GateReport CompareFiles(string baseSpec, string currentSpec, GateOptions options)
    {
        options = options.Validated();
        IReadOnlyList<LoadedResult> currentRuns = ResultReader.ReadAll(currentSpec, "current");
        var notes = new List<string>();
        IReadOnlyList<LoadedResult> baseRuns;
        if (options.BaseIsHistory)
        {
            RunHistory.Window history = RunHistory.Read(baseSpec, options.Window, currentRuns[0].Document);
            baseRuns = history.Runs;
            notes.AddRange(history.Notes.Select(n => $"history: {n}"));
        }
        else
        {
            baseRuns = ResultReader.ReadAll(baseSpec, "base");
        }

        if (!options.BaseIsHistory && DuetGate.Applies(baseRuns.Select(r => r.Document).ToList(),
            currentRuns.Select(r => r.Document).ToList()))
        {
            return DuetGate.Compare(baseRuns.Select(r => r.Document).ToList(), currentRuns.Select(r => r.Document).ToList(), options,
                baseRuns.Select(r => r.Path).ToList(), currentRuns.Select(r => r.Path).ToList());
        }

        IReadOnlyList<ResultDocument>? noiseRuns = null;
        if (options.NoiseModelFolder is { } folder)
        {
            RunHistory.Window history = RunHistory.Read(folder, options.Window, currentRuns[0].Document);
            noiseRuns = history.Runs.Select(r => r.Document).ToList();
            notes.AddRange(history.Notes.Select(n => $"noise model: {n}"));
        }

        GateReport report = Compare(
            baseRuns.Select(r => r.Document).ToList(),
            currentRuns.Select(r => r.Document).ToList(),
            options,
            baseRuns.Select(r => r.Path).ToList(),
            currentRuns.Select(r => r.Path).ToList(),
            noiseRuns);
        return report with { Notes = [.. notes, .. report.Notes] };
    }

    /// <summary>Compares documents already read (tests and the A/B mode call this directly).</summary>
    /// <param name="noiseRuns">Past runs whose spread is the noise model (--noise-model); their level is not used.</param>
    public static GateReport Compare(
        IReadOnlyList<ResultDocument> baseDocs,
        IReadOnlyList<ResultDocument> currentDocs,
        GateOptions options,
        IReadOnlyList<string>? baseNames = null,
        IReadOnlyList<string>? currentNames = null,
        IReadOnlyList<ResultDocument>? noiseRuns = null)
    {
        options = options.Validated();
        if (baseDocs.Count == 0 || currentDocs.Count == 0)
        {
            throw HarnessException.BadInput("Both sides of a comparison need at least one result.");
        }

        string workload = CheckWorkloads(baseDocs, currentDocs);
        baseNames ??= Names(baseDocs.Count, "base");
        currentNames ??= Names(currentDocs.Count, "current");
        ComparabilityVerdict comparability = ComparabilityRule.Check(baseDocs, currentDocs, baseNames, currentNames);
        comparability.ThrowUnlessAllowed(options.AllowHardwareChange, options.AllowConfigChange || options.ComparingConfigurations);

        var notes = new List<string>();
        List<GateMetric> metrics = ChooseMetrics(options, baseDocs, currentDocs);
        var rows = metrics.Select(m => CompareRuns(m, baseDocs, currentDocs, noiseRuns, options)).ToList();
        List<DisturbedRun> disturbed = Disturbance(baseDocs, baseNames, "base", options)
            .Concat(Disturbance(currentDocs, currentNames, "current", options)).ToList();
        if (baseDocs.Concat(currentDocs).Any(d => !d.Valid && d.Validity.Where(v => !v.Passed).Any(v => v.Name != QuietHostRule.Name)))
        {
            notes.Add("Some results are INVALID for other reasons than disturbance (see their validity conditions); their numbers are compared all the same.");
        }

        if (baseDocs.Count == 1 && currentDocs.Count == 1 && noiseRuns is null)
        {
            notes.Add("One run per side: run-to-run variance was not measured, and a run's own interval says nothing about the next run's level. "
                + "Repeat the runs (harness run --repeat 5 on each side, interleaved), or give past runs as the noise model (--noise-model DIR).");
        }

        List<RunRow> runs = RunRows(baseDocs, baseNames, "base", disturbed, options).Concat(RunRows(currentDocs, currentNames, "current", disturbed, options)).ToList();
        if (WithinVersusBetween(runs, rows) is { } contrast)
        {
            notes.Add(contrast);
        }

        return new GateReport(workload, baseNames, currentNames, options, rows, notes)
        {
            Comparability = comparability,
            Disturbed = disturbed,
            Runs = runs,
        };
    }

    /// <summary>One metric's answer to "how many runs per side to detect this change?".</summary>
    /// <param name="RunsPerSide">Null when more than <see cref="RunPlanning.MaxRunsPerSide"/> would be needed.</param>
    /// <param name="IgnoresThreshold">The change is within the metric's threshold: the plan is for significance alone.</param>
    public sealed record RunPlan(string Metric, NoiseModel Noise, int? RunsPerSide, double SmallestWithFive, bool IgnoresThreshold);

    /// <summary>
    /// For each metric, the runs per side that find a change of <paramref name="changePct"/> with the
    /// gate's power, from the run-to-run spread of the runs given (both sides and a history pooled),
    /// or the assumed CV when they measure none.
    /// </summary>
    public static IReadOnlyList<RunPlan> PlanRuns(IReadOnlyList<ResultDocument> baseDocs, IReadOnlyList<ResultDocument>? currentDocs, IReadOnlyList<ResultDocument>? noiseRuns, double changePct, GateOptions options)
    {
        options = options.Validated();
        if (changePct is <= 0 or >= 1000)
        {
            throw HarnessException.BadInput("--plan-runs must be a percentage above 0%, e.g. 5%.");
        }

        var plans = new List<RunPlan>();
        foreach (GateMetric m in ChooseMetrics(options, baseDocs, currentDocs ?? []))
        {
            var groups = new[] { baseDocs, currentDocs, noiseRuns }.OfType<IReadOnlyList<ResultDocument>>()
                .Select(side => (IReadOnlyList<double>)Values(m, side).Select(v => Math.Log(v)).ToList()).ToList();
            int runs = groups.Sum(g => g.Count);
            NoiseModel noise = NoiseModel.Pooled(groups, $"{runs} runs given") ?? NoiseModel.AssumedCv(options.PlanCv);
            double threshold = options.ThresholdFor(m.Name);
            bool ignores = changePct <= threshold;
            double used = ignores ? 0 : threshold;
            plans.Add(new RunPlan(m.Name, noise, RunPlanning.RunsPerSide(noise, changePct, options.Alpha, used, options.Power, ranks: true),
                RunPlanning.SmallestDetectablePct(noise, 5, 5, options.Alpha, used, options.Power, ranks: true), ignores));
        }

        return plans;
    }

    private static string CheckWorkloads(IReadOnlyList<ResultDocument> baseDocs, IReadOnlyList<ResultDocument> currentDocs)
    {
        var workloads = baseDocs.Concat(currentDocs).Select(d => d.Workload).Distinct(StringComparer.Ordinal).ToList();
        if (workloads.Count > 1)
        {
            string b = string.Join(", ", baseDocs.Select(d => d.Workload).Distinct());
            string c = string.Join(", ", currentDocs.Select(d => d.Workload).Distinct());
            throw HarnessException.BadInput($"The results are of different workloads (base: {b}; current: {c}); compare runs of the same workload.");
        }

        var versions = baseDocs.Concat(currentDocs).Select(d => d.SchemaVersion).Distinct().ToList();
        if (versions.Count > 1)
        {
            throw HarnessException.BadInput($"The results have different schema versions ({string.Join(", ", versions)}); compare results written with the same schema version.");
        }

        return workloads[0];
    }

    private static List<GateMetric> ChooseMetrics(GateOptions options, IReadOnlyList<ResultDocument> baseDocs, IReadOnlyList<ResultDocument> currentDocs)
    {
        if (options.Metrics is { } chosen)
        {
            return chosen.Concat(options.Thresholds.Keys).Select(n => GateMetric.Find(n)!).DistinctBy(m => m.Name).ToList();
        }

        IEnumerable<string> names = GateMetric.DefaultNames;
        var tokens = GateMetric.TokenDefaultNames.Where(n => baseDocs.Concat(currentDocs).All(d => GateMetric.Find(n)!.RunValue(d).Value is not null));
        return names.Concat(tokens).Concat(options.Thresholds.Keys).Select(n => GateMetric.Find(n)!).DistinctBy(m => m.Name).ToList();
    }

    private static MetricComparison CompareRuns(GateMetric m, IReadOnlyList<ResultDocument> baseDocs, IReadOnlyList<ResultDocument> currentDocs, IReadOnlyList<ResultDocument>? noiseRuns, GateOptions options)
    {
        double threshold = options.ThresholdFor(m.Name);
        List<double> b = Values(m, baseDocs), c = Values(m, currentDocs);
        double? baseMedian = b.Count > 0 ? Statistics.Median(b.ToArray()) : null;
        double? currentMedian = c.Count > 0 ? Statistics.Median(c.ToArray()) : null;
        MetricComparison Inconclusive(string test, string reason, double? change = null) =>
            new(m.Name, test, baseMedian, currentMedian, change, null, null, null, b.Count, c.Count, threshold, GateVerdict.Inconclusive, reason);

        if (b.Count == 0 || c.Count == 0)
        {
            string side = b.Count == 0 ? "base" : "current";
            string why = (b.Count == 0 ? baseDocs : currentDocs).Select(d => m.RunValue(d).WhyNot).FirstOrDefault(w => w is not null) ?? "no value";
            return Inconclusive("-", $"no {side} run has a usable {m.Name} (e.g. {why})");
        }

        double[] lb = b.Select(v => Math.Log(v)).ToArray(), lc = c.Select(v => Math.Log(v)).ToArray();
        var groups = new List<IReadOnlyList<double>> { lb, lc };
        string source = Sources(b.Count, c.Count, options.BaseIsHistory);
        List<double>? history = noiseRuns is null ? null : Values(m, noiseRuns);
        if (history is { Count: >= 2 })
        {
            groups.Add(history.Select(v => Math.Log(v)).ToList());
            source += $" and a history of {history.Count} runs";
        }

        NoiseModel? noise = NoiseModel.Pooled(groups, source);
        double pointChange = (Math.Exp(lc.Average() - lb.Average()) - 1) * 100;
        double alpha = options.Alpha;
        string test;
        double changePct, pWorse, pBetter;
        double? lowPct, highPct;
        bool ranks = b.Count >= RankTestRuns && c.Count >= RankTestRuns && MannWhitneyTest.SmallestPossiblePValue(b.Count, c.Count) < alpha;
        if (ranks)
        {
            test = "Mann-Whitney U over runs";
            MannWhitneyTest.Result mw = MannWhitneyTest.TestExact(lb, lc);
            HodgesLehmann.Estimate hl = HodgesLehmann.Shift(lb, lc, alpha);
            (pWorse, pBetter) = m.HigherIsBetter ? (mw.PLess, mw.PGreater) : (mw.PGreater, mw.PLess);
            changePct = (Math.Exp(hl.Shift) - 1) * 100;
            lowPct = hl.Low is { } lo ? (Math.Exp(lo) - 1) * 100 : null;
            highPct = hl.High is { } hi ? (Math.Exp(hi) - 1) * 100 : null;
        }
        else if (noise is not null)
        {
            test = "t-test on log run values";
            double diff = lc.Average() - lb.Average();
            double se = noise.Sigma * Math.Sqrt(1.0 / b.Count + 1.0 / c.Count);
            if (se <= 0)
            {
                return Inconclusive(test, $"the runs show no spread at all ({noise.Describe()}), so no test can be made", pointChange);
            }

            double t = diff / se;
            double pGreater = 1 - StudentT.CDF(0, 1, noise.Df, t);
            (pWorse, pBetter) = m.HigherIsBetter ? (1 - pGreater, pGreater) : (pGreater, 1 - pGreater);
            double q = Statistics.StudentTQuantile(1 - alpha, noise.Df);
            changePct = (Math.Exp(diff) - 1) * 100;
            lowPct = (Math.Exp(diff - q * se) - 1) * 100;
            highPct = (Math.Exp(diff + q * se) - 1) * 100;
        }
        else
        {
            return NotMeasured(m, b, c, baseMedian, currentMedian, pointChange, threshold, options);
        }

        double? underNoise = m.IsPercentile && Math.Abs(currentMedian!.Value - baseMedian!.Value) < options.NoiseFloorMs ? Math.Abs(currentMedian.Value - baseMedian.Value) : null;
        (GateVerdict verdict, string reason) = Decide(m, changePct, pWorse, pBetter, threshold, alpha, underNoise, options.NoiseFloorMs);
        double? detectable = noise is null ? null : RunPlanning.SmallestDetectablePct(noise, b.Count, c.Count, alpha, threshold, options.Power, ranks);
        if (verdict == GateVerdict.Inconclusive && noise is not null
            && RunPlanning.RunsPerSide(noise, changePct, alpha, threshold, options.Power, ranks: true) is { } needed)
        {
            reason += Invariant($"; about {needed} runs per side would resolve a change of this size ({noise.Describe()})");
        }

        return new MetricComparison(m.Name, test, baseMedian, currentMedian, changePct, lowPct, highPct, pWorse, b.Count, c.Count, threshold, verdict, reason)
        {
            Noise = noise?.Describe(),
            SmallestDetectablePct = detectable,
            HistoryPosition = options.BaseIsHistory ? Position(lb, lc, m) : null,
        };
    }

    /// <summary>One run per side and no history: the change is stated, with the runs per side that would resolve it.</summary>
    private static MetricComparison NotMeasured(GateMetric m, List<double> b, List<double> c, double? baseMedian, double? currentMedian, double changePct, double threshold, GateOptions options)
    {
        NoiseModel assumed = NoiseModel.AssumedCv(options.PlanCv);
        string size = Invariant($"{changePct:+0.##;-0.##}%");
        string advice = RunPlanning.RunsPerSide(assumed, changePct, options.Alpha, threshold, options.Power, ranks: true) is { } n
            ? Invariant($"with {assumed.Source}, about {n} runs per side would resolve a change of this size ({size})")
            : Math.Abs(changePct) <= threshold
                ? Invariant($"a change of {size} is within the {threshold:0.##}% threshold: repeat the runs (2 or more per side) and the gate can show it passes")
                : Invariant($"with {assumed.Source}, a change of {size} needs more than {RunPlanning.MaxRunsPerSide} runs per side");
        string reason = Invariant($"run-to-run variance was not measured ({b.Count} base and {c.Count} current run(s), no history): no verdict from one run against another; {advice}");
        return new MetricComparison(m.Name, "none (no noise model)", baseMedian, currentMedian, changePct, null, null, null, b.Count, c.Count, threshold, GateVerdict.Inconclusive, reason);
    }

    /// <summary>The two-part rule: significant AND beyond the threshold; large but unconfirmed changes are inconclusive.</summary>
    internal static (GateVerdict, string) Decide(GateMetric m, double changePct, double pWorse, double pBetter, double threshold,
        double alpha, double? underNoiseMs, double noiseFloorMs)
    {
        double worsePct = m.HigherIsBetter ? -changePct : changePct;
        string word = m.HigherIsBetter ? (changePct < 0 ? "lower" : "higher") : (changePct > 0 ? "slower" : "faster");
        string magnitude = Invariant($"{Math.Abs(changePct):0.##}% {word}");
        if (underNoiseMs is { } diff)
        {
            return (GateVerdict.Pass, Invariant($"{magnitude}, but the difference of {diff:0.####} ms is under the {noiseFloorMs:0.####} ms noise floor"));
        }

        if (worsePct >= threshold)
        {
            return pWorse < alpha
                ? (GateVerdict.Regression, Invariant($"{magnitude}: beyond the {threshold:0.##}% threshold and significant (p = {pWorse:0.####} < {alpha})"))
                : (GateVerdict.Inconclusive, Invariant($"{magnitude}: beyond the {threshold:0.##}% threshold but not significant (p = {pWorse:0.####})"));
        }

        if (-worsePct >= threshold && pBetter < alpha)
        {
            return (GateVerdict.Improvement, Invariant($"{magnitude}: beyond the {threshold:0.##}% threshold and significant (p = {pBetter:0.####})"));
        }

        return pWorse < alpha
            ? (GateVerdict.Pass, Invariant($"{magnitude}: significant (p = {pWorse:0.####}) but within the {threshold:0.##}% threshold"))
            : (GateVerdict.Pass, Invariant($"{magnitude}: no significant regression (p = {pWorse:0.####})"));
    }

    /// <summary>Where the current runs sit among a history's: how many history runs are better, and the z-score of their mean log.</summary>
    private static string Position(double[] history, double[] current, GateMetric m)
    {
        double mean = history.Average();
        double sd = Math.Sqrt(history.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, history.Length - 1));
        double level = current.Average();
        int better = history.Count(v => m.HigherIsBetter ? v > level : v < level);
        string z = sd > 0 ? Invariant($", z = {(level - mean) / sd:+0.0;-0.0}") : "";
        return Invariant($"{better} of {history.Length} history runs were better{z}");
    }

    private static List<double> Values(GateMetric m, IEnumerable<ResultDocument> docs) =>
        docs.Select(d => m.RunValue(d).Value).OfType<double>().Where(v => v > 0 && double.IsFinite(v)).ToList();

    private static string Sources(int b, int c, bool history) => (b, c) switch
    {
        _ when history => $"a history of {b} runs" + (c > 1 ? $" and the current side's {c} runs" : ""),
        (> 1, > 1) => $"the repeats of both sides ({b} base, {c} current runs)",
        (> 1, _) => $"the base side's {b} runs",
        (_, > 1) => $"the current side's {c} runs",
        _ => "no repeated runs",
    };

    private static IEnumerable<DisturbedRun> Disturbance(IReadOnlyList<ResultDocument> docs, IReadOnlyList<string> names, string side, GateOptions options)
    {
        for (int i = 0; i < docs.Count; i++)
        {
            RunDisturbance d = RunDisturbance.Of(docs[i], options.Interference);
            if (d.Disturbed)
            {
                yield return new DisturbedRun(side, names[i], d.Causes, d.Blocks && !options.AllowNoisy, d.How);
            }
        }
    }

    /// <summary>Each run's p50 with its block-bootstrap interval (the ten newest of a side at most: it costs a sort per resample).</summary>
    private static IEnumerable<RunRow> RunRows(IReadOnlyList<ResultDocument> docs, IReadOnlyList<string> names, string side, List<DisturbedRun> disturbed, GateOptions options)
    {
        var withInterval = docs.Select((d, i) => (d, i)).OrderByDescending(x => x.d.StartedUtc).Take(10).Select(x => x.i).ToHashSet();
        for (int i = 0; i < docs.Count; i++)
        {
            ResultDocument d = docs[i];
            (double Low, double High)? ci = null;
            if (withInterval.Contains(i) && d.Samples is { LatencyMs.Length: >= 30 } s)
            {
                int workers = DocumentValues.Number(d.Config.GetValueOrDefault(ConfigKeys.Workers)) is { } w ? (int)w : 1;
                int block = BlockBootstrap.BlockLength(s.LatencyMs.Length, d.Metrics.DurationS, workers);
                ci = BlockBootstrap.PercentileIntervals(s.LatencyMs, [0.5], block, 1 - 2 * options.Alpha, options.BootstrapResamples, options.Seed + i)[0];
            }

            string? why = disturbed.FirstOrDefault(x => x.Side == side && x.Run == names[i]) is { } dr ? string.Join("; ", dr.Causes) : null;
            yield return new RunRow(side, names[i], d.StartedUtc, d.Valid, d.Metrics.LatencyMs?.P50, ci?.Low, ci?.High, d.Metrics.ThroughputPerS, why);
        }
    }

    /// <summary>The contrast that explains the rule: a run's own interval against the spread between runs.</summary>
    private static string? WithinVersusBetween(List<RunRow> runs, List<MetricComparison> rows)
    {
        var halfWidths = runs.Where(r => r is { P50Low: not null, P50High: not null, LatencyP50: > 0 })
            .Select(r => (r.P50High!.Value - r.P50Low!.Value) / 2 / r.LatencyP50!.Value).ToArray();
        if (halfWidths.Length == 0)
        {
            return null;
        }

        string within = Invariant($"Within a run, p50's interval is about ±{Statistics.Median(halfWidths):0.0%} (block bootstrap over a second of requests)");
        string? between = rows.FirstOrDefault(r => r.Metric == "latency_p50")?.Noise;
        return between is null
            ? within + "; how far runs move from one another was not measured."
            : within + $"; between runs: {between}. The run, not the request, is the unit of evidence.";
    }

    private static List<string> Names(int count, string side) => Enumerable.Range(1, count).Select(i => $"{side} #{i}").ToList();
}
