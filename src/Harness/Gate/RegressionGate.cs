using System.Globalization;
using Harness.Measurement;
using Harness.Results;

namespace Harness.Gate;

/// <summary>
/// Decides whether CURRENT regressed against BASE, metric by metric (after dotnet/performance's
/// ResultsComparer and BenchmarkDotNet): a regression needs BOTH a significant one-sided test
/// (bootstrap of the quantile ratio for per-request latency, Mann-Whitney U for run-level metrics
/// over repeated runs) AND a change beyond the metric's threshold (default 10%) AND, for latency, a
/// difference above the noise floor. Too few samples, or a large change the data cannot confirm,
/// is "inconclusive", never a pass.
/// </summary>
public static class RegressionGate
{
    /// <summary>Expands the two specs (file, folder or glob), checks they can be compared, and compares.</summary>
    public static GateReport CompareFiles(string baseSpec, string currentSpec, GateOptions options)
    {
        options = options.Validated();
        IReadOnlyList<LoadedResult> baseRuns = ResultReader.ReadAll(baseSpec, "base");
        IReadOnlyList<LoadedResult> currentRuns = ResultReader.ReadAll(currentSpec, "current");
        return Compare(
            baseRuns.Select(r => r.Document).ToList(),
            currentRuns.Select(r => r.Document).ToList(),
            options,
            baseRuns.Select(r => r.Path).ToList(),
            currentRuns.Select(r => r.Path).ToList());
    }

    /// <summary>Compares documents already read (tests and the A/B mode call this directly).</summary>
    public static GateReport Compare(
        IReadOnlyList<ResultDocument> baseDocs,
        IReadOnlyList<ResultDocument> currentDocs,
        GateOptions options,
        IReadOnlyList<string>? baseNames = null,
        IReadOnlyList<string>? currentNames = null)
    {
        options = options.Validated();
        if (baseDocs.Count == 0 || currentDocs.Count == 0)
        {
            throw HarnessException.BadInput("Both sides of a comparison need at least one result.");
        }

        string workload = CheckWorkloads(baseDocs, currentDocs);
        var notes = new List<string>();
        List<GateMetric> metrics = ChooseMetrics(options, baseDocs.Count, currentDocs.Count, notes);
        var rows = new List<MetricComparison>();
        rows.AddRange(ComparePerRequest(metrics.Where(m => m.IsPerRequest).ToList(), baseDocs, currentDocs, options, notes));
        foreach (GateMetric m in metrics.Where(m => !m.IsPerRequest))
        {
            rows.Add(CompareRuns(m, baseDocs, currentDocs, options));
        }

        if (baseDocs.Concat(currentDocs).Any(d => !d.Valid))
        {
            notes.Add("Some results are INVALID (see their validity conditions); their numbers are compared all the same.");
        }

        var order = metrics.Select(m => m.Name).ToList();
        rows.Sort((a, b) => order.IndexOf(a.Metric).CompareTo(order.IndexOf(b.Metric)));
        return new GateReport(workload, baseNames ?? Names(baseDocs.Count, "base"), currentNames ?? Names(currentDocs.Count, "current"), options, rows, notes);
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

    private static List<GateMetric> ChooseMetrics(GateOptions options, int baseRuns, int currentRuns, List<string> notes)
    {
        if (options.Metrics is { } chosen)
        {
            return chosen.Concat(options.Thresholds.Keys).Select(n => GateMetric.Find(n)!).DistinctBy(m => m.Name).ToList();
        }

        var metrics = new List<GateMetric>();
        foreach (string name in GateMetric.DefaultNames.Concat(options.Thresholds.Keys))
        {
            GateMetric m = GateMetric.Find(name)!;
            bool implicitRunLevel = !m.IsPerRequest && !options.Thresholds.ContainsKey(m.Name);
            if (implicitRunLevel && (baseRuns < 2 || currentRuns < 2))
            {
                notes.Add($"{m.Name} was not compared: it takes one value per run and a side has a single run; repeat the runs (harness run --repeat 5) to gate on it.");
                continue;
            }

            metrics.Add(m);
        }

        return metrics.DistinctBy(m => m.Name).ToList();
    }

    private static IEnumerable<MetricComparison> ComparePerRequest(
        List<GateMetric> metrics, IReadOnlyList<ResultDocument> baseDocs, IReadOnlyList<ResultDocument> currentDocs, GateOptions options, List<string> notes)
    {
        if (metrics.Count == 0)
        {
            yield break;
        }

        double[] b = PooledSamples(baseDocs, options.MaxSamplesPerSide);
        double[] c = PooledSamples(currentDocs, options.MaxSamplesPerSide);
        if (baseDocs.Concat(currentDocs).Any(d => d.Samples is { Stride: > 1 }))
        {
            notes.Add("Some results kept every k-th request only (samples.stride > 1); the latency tests use the kept samples.");
        }

        var testable = metrics.Where(m => Math.Min(b.Length, c.Length) >= MinimumSamples(m.Percentile!.Value)).ToList();
        double[][] ratios = testable.Count == 0
            ? []
            : QuantileBootstrap.Ratios(b, c, testable.Select(m => m.Percentile!.Value).ToList(), options.BootstrapResamples, options.Seed);

        foreach (GateMetric m in metrics)
        {
            double p = m.Percentile!.Value;
            double threshold = options.ThresholdFor(m.Name);
            int index = testable.IndexOf(m);
            if (index < 0)
            {
                long need = MinimumSamples(p);
                yield return new MetricComparison(m.Name, "bootstrap quantile ratio",
                    b.Length > 0 ? Statistics.Percentile(b, p) : null, c.Length > 0 ? Statistics.Percentile(c, p) : null,
                    null, null, null, null, b.Length, c.Length, threshold, GateVerdict.Inconclusive,
                    Invariant($"too few per-request samples: {m.Name} needs at least {need} per side (early-stopping bound), base has {b.Length} and current {c.Length}"));
                continue;
            }

            double baseValue = Statistics.Percentile(b, p);
            double currentValue = Statistics.Percentile(c, p);
            double[] r = ratios[index];
            int resamples = r.Length;
            double lower = r[(int)Math.Floor(options.Alpha * resamples)];
            double upper = r[Math.Min(resamples - 1, (int)Math.Ceiling((1 - options.Alpha) * resamples) - 1)];
            double pWorse = (CountAtMost(r, 1.0) + 1.0) / (resamples + 1.0);
            double pBetter = (resamples - CountBelow(r, 1.0) + 1.0) / (resamples + 1.0);
            double change = (QuantileBootstrap.Ratio(currentValue, baseValue) - 1) * 100;
            bool underNoise = Math.Abs(currentValue - baseValue) < options.NoiseFloorMs;
            (GateVerdict verdict, string reason) = Decide(m, change, pWorse, pBetter, threshold, options.Alpha, underNoise ? Math.Abs(currentValue - baseValue) : null, options.NoiseFloorMs);
            yield return new MetricComparison(m.Name, "bootstrap quantile ratio", baseValue, currentValue, change,
                (lower - 1) * 100, (upper - 1) * 100, pWorse, b.Length, c.Length, threshold, verdict, reason);
        }
    }

    private static MetricComparison CompareRuns(GateMetric m, IReadOnlyList<ResultDocument> baseDocs, IReadOnlyList<ResultDocument> currentDocs, GateOptions options)
    {
        double threshold = options.ThresholdFor(m.Name);
        var b = baseDocs.Select(m.RunValue).OfType<double>().ToList();
        var c = currentDocs.Select(m.RunValue).OfType<double>().ToList();
        double? baseMedian = b.Count > 0 ? Median(b) : null;
        double? currentMedian = c.Count > 0 ? Median(c) : null;
        if (MannWhitneyTest.SmallestPossiblePValue(b.Count, c.Count) >= options.Alpha)
        {
            return new MetricComparison(m.Name, "Mann-Whitney U", baseMedian, currentMedian, null, null, null, null, b.Count, c.Count, threshold,
                GateVerdict.Inconclusive,
                Invariant($"too few runs: with {b.Count} base and {c.Count} current values of {m.Name} no outcome can reach alpha {options.Alpha}; repeat the runs (at least 4 per side, 5 or more recommended)"));
        }

        MannWhitneyTest.Result test = MannWhitneyTest.Test(b, c);
        double pWorse = m.HigherIsBetter ? test.PLess : test.PGreater;
        double pBetter = m.HigherIsBetter ? test.PGreater : test.PLess;
        double change = (QuantileBootstrap.Ratio(currentMedian!.Value, baseMedian!.Value) - 1) * 100;
        (GateVerdict verdict, string reason) = Decide(m, change, pWorse, pBetter, threshold, options.Alpha, null, 0);
        return new MetricComparison(m.Name, "Mann-Whitney U", baseMedian, currentMedian, change, null, null, pWorse, b.Count, c.Count, threshold, verdict, reason);
    }

    /// <summary>The two-part rule: significant AND beyond the threshold; large but unconfirmed changes are inconclusive.</summary>
    private static (GateVerdict, string) Decide(GateMetric m, double changePct, double pWorse, double pBetter, double threshold, double alpha, double? underNoiseMs, double noiseFloorMs)
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
                : (GateVerdict.Inconclusive, Invariant($"{magnitude}: beyond the {threshold:0.##}% threshold but not significant (p = {pWorse:0.####}); add samples or runs"));
        }

        if (-worsePct >= threshold && pBetter < alpha)
        {
            return (GateVerdict.Improvement, Invariant($"{magnitude}: beyond the {threshold:0.##}% threshold and significant (p = {pBetter:0.####})"));
        }

        return pWorse < alpha
            ? (GateVerdict.Pass, Invariant($"{magnitude}: significant (p = {pWorse:0.####}) but within the {threshold:0.##}% threshold"))
            : (GateVerdict.Pass, Invariant($"{magnitude}: no significant regression (p = {pWorse:0.####})"));
    }

    /// <summary>Samples needed per side for a percentile: MLPerf's early-stopping bound with no miss, and at least 30.</summary>
    public static long MinimumSamples(double p) => Math.Max(30, p < 1 && p > 0.5 ? Statistics.EarlyStoppingMinimum(p) : 0);

    private static double[] PooledSamples(IReadOnlyList<ResultDocument> docs, int max)
    {
        double[] all = docs.SelectMany(d => d.Samples?.LatencyMs ?? []).ToArray();
        Array.Sort(all);
        if (all.Length <= max)
        {
            return all;
        }

        // Even thinning of the sorted values keeps every quantile within one stride of the full sample's.
        var thinned = new double[max];
        double step = (double)all.Length / max;
        for (int i = 0; i < max; i++)
        {
            thinned[i] = all[(int)((i + 0.5) * step)];
        }

        return thinned;
    }

    /// <summary>How many of the ascending values are at most <paramref name="value"/>.</summary>
    private static int CountAtMost(double[] sorted, double value) => FirstIndex(sorted, v => v > value);

    /// <summary>How many of the ascending values are below <paramref name="value"/>.</summary>
    private static int CountBelow(double[] sorted, double value) => FirstIndex(sorted, v => v >= value);

    /// <summary>First index whose value satisfies a predicate that is monotone over the sorted values.</summary>
    private static int FirstIndex(double[] sorted, Func<double, bool> predicate)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (predicate(sorted[mid]))
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static List<string> Names(int count, string side) => Enumerable.Range(1, count).Select(i => $"{side} #{i}").ToList();

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
