using Harness.Measurement;
using Harness.Results;
using Harness.Trust.Comparability;
using Harness.Trust.Noise;
using MathNet.Numerics.Distributions;
using static System.FormattableString;
using static Harness.Gate.RegressionGate;

namespace Harness.Gate;

/// <summary>
/// When a disturbance of a duet pair makes it unusable. A window is disturbed when either side's mean
/// latency in it is <see cref="SlowPct"/> or more above that side's own median window (or the side
/// completed nothing in it); it hit ONE side when the two sides' slowdowns differ by
/// <see cref="OneSidedGapPct"/> or more, else both alike. What hits both alike cancels in the ratio and
/// is only noted; a pair with <see cref="OneSidedShare"/> or more of its windows hit on one side is
/// disturbed, and makes the comparison inconclusive (unless allowed noisy). A window of few requests
/// moves by chance (the log of a count c by about 1/sqrt(c)), so both limits widen to
/// <see cref="CountSigmas"/> such steps (the gap to half that) when the windows hold few requests.
/// </summary>
public sealed record DuetDisturbanceRule(
    double SlowPct = 20, double OneSidedGapPct = 10, double OneSidedShare = 0.1, double CountSigmas = 4)
{
    public static DuetDisturbanceRule Default { get; } = new();

    /// <summary>The slowdown and one-sided gap, as logs of ratios, for windows of <paramref name="medianCount"/> requests.</summary>
    public (double SlowLog, double GapLog) Limits(double medianCount)
    {
        double chance = medianCount > 0 ? CountSigmas / Math.Sqrt(medianCount) : 0;
        return (Math.Max(Math.Log(1 + SlowPct / 100), chance), Math.Max(Math.Log(1 + OneSidedGapPct / 100), chance / 2));
    }
}

/// <summary>Two sides' windows of one pair on the same grid: how many align, or why none do.</summary>
public sealed record DuetAlignment(int Windows, string? WhyNot)
{
    /// <summary>Both started from the same agreed instant with the same window: the windows with one index cover the same time.</summary>
    public static DuetAlignment Of(DuetWindows a, DuetWindows b)
    {
        if (!a.Synchronized || !b.Synchronized)
        {
            return new(0, "the two sides did not meet before measuring, so their windows cover different times");
        }

        if (Math.Abs(a.WindowS - b.WindowS) > 1e-9 || Math.Abs((a.StartUtc - b.StartUtc).TotalMilliseconds) > 1)
        {
            return new(0, "the two sides' windows are on different grids (start or length differ)");
        }

        int n = Math.Min(a.Completions.Length, b.Completions.Length);
        return n == 0 ? new(0, "the two sides have no full window in common") : new(n, null);
    }
}

/// <summary>One duet pair as evidence: the candidate's throughput over the base's in the same seconds.</summary>
/// <param name="LogRatio">ln(current / base) of the completions summed over the aligned windows.</param>
/// <param name="Low">The block-bootstrap interval of <paramref name="LogRatio"/> over the pair's windows.</param>
/// <param name="OneSided">Indices of the windows a disturbance hit on one side only.</param>
/// <param name="BothSided">Indices of the windows a disturbance hit on both sides alike.</param>
public sealed record DuetPair(
    int Pair, string BaseRun, string CurrentRun, string BaseCpus, string CurrentCpus, int Windows,
    double BaseThroughput, double CurrentThroughput, double LogRatio, double Low, double High,
    IReadOnlyList<int> OneSided, IReadOnlyList<int> BothSided)
{
    public double RatioPct => (Math.Exp(LogRatio) - 1) * 100;

    public bool DisturbedOneSided(DuetDisturbanceRule rule) => OneSided.Count > 0 && OneSided.Count >= rule.OneSidedShare * Windows;
}

/// <summary>
/// The gate over duet evidence (Bulej et al., ICPE 2020): base and candidate ran at the same time on
/// the same machine, so what slowed the machine slowed both, and their ratio cancels it. The unit is
/// the pair: each pair's ratio (throughput over the seconds both measured) is one observation, and the
/// pairs, which swap cores from one to the next, are tested with a one-sample t-test on the log ratios.
/// The windows inside a pair are autocorrelated and do not count as observations; they give the pair
/// its own (block-bootstrap) interval and say whether a disturbance hit one side or both.
/// </summary>
public static class DuetGate
{
    public const string Design = "duet";

    /// <summary>The <see cref="DisturbedRun.Side"/> of a disturbed pair.</summary>
    public const string PairSide = "pair";

    private const string MetricName = "throughput";

    /// <summary>Both sides are duet results (each carries its windows), so they are judged as pairs.</summary>
    public static bool Applies(IReadOnlyList<ResultDocument> baseDocs, IReadOnlyList<ResultDocument>? currentDocs) =>
        baseDocs.Count > 0 && baseDocs.All(d => d.Duet is not null) && (currentDocs is null || (currentDocs.Count > 0 && currentDocs.All(d
            => d.Duet is not null)));

    /// <summary>The pairs of the two sides, matched by job and pair number, with what could not be used.</summary>
    public static (List<DuetPair> Pairs, List<string> Notes) Pairs(
        IReadOnlyList<ResultDocument> baseDocs, IReadOnlyList<ResultDocument> currentDocs, IReadOnlyList<string> baseNames,
            IReadOnlyList<string> currentNames,
        GateOptions options, DuetDisturbanceRule? rule = null)
    {
        rule ??= DuetDisturbanceRule.Default;
        var pairs = new List<DuetPair>();
        var notes = new List<string>();
        for (int i = 0; i < baseDocs.Count; i++)
        {
            DuetWindows a = baseDocs[i].Duet!;
            int j = Enumerable.Range(0,
                currentDocs.Count).FirstOrDefault(k => currentDocs[k].Duet!.Job == a.Job && currentDocs[k].Duet!.Pair == a.Pair, -1);
            if (j < 0)
            {
                notes.Add($"{baseNames[i]} (pair {a.Pair} of job {a.Job}) has no partner on the current side and is left out.");
                continue;
            }

            DuetWindows b = currentDocs[j].Duet!;
            DuetAlignment aligned = DuetAlignment.Of(a, b);
            if (aligned.WhyNot is { } why)
            {
                notes.Add($"pair {a.Pair} is left out: {why}.");
                continue;
            }

            if (Evidence(a, b, aligned.Windows, baseNames[i], currentNames[j], options, rule) is { } pair)
            {
                pairs.Add(pair);
            }
            else
            {
                notes.Add($"pair {a.Pair} is left out: a side completed no request in the {aligned.Windows} aligned window(s).");
            }
        }

        return (pairs, notes);
    }

    /// <summary>One pair's ratio, its interval over its windows, and the windows a disturbance hit on one side or on both.</summary>
    public static DuetPair? Evidence(DuetWindows a, DuetWindows b, int windows, string baseRun, string currentRun, GateOptions options,
        DuetDisturbanceRule rule)
    {
        long[] ca = a.Completions[..windows], cb = b.Completions[..windows];
        if (ca.Sum() == 0 || cb.Sum() == 0)
        {
            return null;
        }

        double Statistic(int[] idx)
        {
            double sa = 0, sb = 0;
            foreach (int k in idx)
            {
                sa += ca[k];
                sb += cb[k];
            }

            return sa > 0 && sb > 0 ? Math.Log(sb / sa) : 0;
        }

        int block = Math.Max(2, (int)Math.Ceiling(Math.Cbrt(windows)));
        (double low, double high) = BlockBootstrap.Interval(windows, block, 1 - 2 * options.Alpha, Statistic, options.BootstrapResamples,
            options.Seed + a.Pair);
        (List<int> oneSided, List<int> bothSided) = Disturbed(a, b, windows, rule);
        double seconds = windows * a.WindowS;
        return new DuetPair(a.Pair, baseRun, currentRun, CpuText(a), CpuText(b), windows, ca.Sum() / seconds, cb.Sum() / seconds,
            Statistic([.. Enumerable.Range(0, windows)]), low, high, oneSided, bothSided);
    }

    /// <summary>The windows a disturbance hit on one side, and those it hit on both alike (<see cref="DuetDisturbanceRule"/>).</summary>
    public static (List<int> OneSided, List<int> BothSided) Disturbed(DuetWindows a, DuetWindows b, int windows, DuetDisturbanceRule rule)
    {
        double[] sa = Slowdowns(a, windows), sb = Slowdowns(b, windows);
        double fewest = Math.Min(MedianCount(a, windows), MedianCount(b, windows));
        (double slow, double gap) = rule.Limits(fewest);
        var one = new List<int>();
        var both = new List<int>();
        for (int k = 0; k < windows; k++)
        {
            if (Math.Max(sa[k], sb[k]) < slow)
            {
                continue;
            }

            bool lopsided = double.IsPositiveInfinity(sa[k]) != double.IsPositiveInfinity(sb[k]) || Math.Abs(sa[k] - sb[k]) >= gap;
            (lopsided ? one : both).Add(k);
        }

        return (one, both);
    }

    private static double MedianCount(DuetWindows w, int windows) =>
        Statistics.Median(w.Completions[..windows].Select(c => (double)c).ToArray());

    /// <summary>Each window's mean latency over the side's median window, as a log; +infinity for a window with no completion.</summary>
    private static double[] Slowdowns(DuetWindows w, int windows)
    {
        double[] mean = Enumerable.Range(0,
            windows).Select(k => w.Completions[k] > 0 ? w.LatencySumMs[k] / w.Completions[k] : double.NaN).ToArray();
        double[] finite = mean.Where(v => double.IsFinite(v) && v > 0).ToArray();
        double median = finite.Length > 0 ? Statistics.Median(finite) : double.NaN;
        return mean.Select(v => double.IsNaN(v) ? double.PositiveInfinity : v > 0 && median > 0 ? Math.Log(v / median) : 0).ToArray();
    }

    /// <summary>Compares duet results: pairs matched, each one observation, verdict by the gate's two-part rule.</summary>
    public static GateReport Compare(
        IReadOnlyList<ResultDocument> baseDocs, IReadOnlyList<ResultDocument> currentDocs, GateOptions options,
        IReadOnlyList<string>? baseNames = null, IReadOnlyList<string>? currentNames = null, DuetDisturbanceRule? rule = null)
    {
        options = options.Validated();
        rule ??= DuetDisturbanceRule.Default;
        baseNames ??= [.. Enumerable.Range(1, baseDocs.Count).Select(i => $"base #{i}")];
        currentNames ??= [.. Enumerable.Range(1, currentDocs.Count).Select(i => $"current #{i}")];
        string workload = baseDocs.Concat(currentDocs).Select(d => d.Workload).Distinct(StringComparer.Ordinal).Count() == 1
            ? baseDocs[0].Workload
            : throw HarnessException.BadInput("The duet results are of different workloads; compare runs of the same workload.");
        ComparabilityVerdict comparability = ComparabilityRule.Check(baseDocs, currentDocs, baseNames, currentNames);
        comparability.ThrowUnlessAllowed(options.AllowHardwareChange, options.AllowConfigChange || options.ComparingConfigurations);

        (List<DuetPair> pairs, List<string> notes) = Pairs(baseDocs, currentDocs, baseNames, currentNames, options, rule);
        var disturbed = new List<DisturbedRun>();
        foreach (DuetPair p in pairs)
        {
            if (p.DisturbedOneSided(rule))
            {
                disturbed.Add(new DisturbedRun(PairSide, $"{p.Pair}", [Text(
                    $"a disturbance hit one side only in {p.OneSided.Count} of its {p.Windows} windows (window(s) {Windows(p.OneSided)}: ",
                    $"one side {rule.SlowPct:0}% or more slower than its median, the other {rule.OneSidedGapPct:0}% less), which ",
                    $"the ratio does not cancel")],
                    !options.AllowNoisy, "duet windows"));
            }
            else if (p.BothSided.Count > 0 || p.OneSided.Count > 0)
            {
                notes.Add(Text(
                    $"pair {p.Pair}: {p.BothSided.Count} window(s) disturbed on both sides alike and {p.OneSided.Count} on one side ",
                    $"(under {rule.OneSidedShare:0%} of its windows); what hits both cancels in the ratio, so the pair counts."));
            }
        }

        notes.Add("Each side's own disturbance verdict counts its partner as another process; a duet judges disturbance per window from "
            + "both sides instead.");
        notes.AddRange(pairs.Select(p => Text(
            $"pair {p.Pair} (base on CPU {p.BaseCpus}, current on CPU {p.CurrentCpus}): current/base throughput ",
            $"{p.RatioPct:+0.00;-0.00}% [{(Math.Exp(p.Low) - 1) * 100:+0.00;-0.00}%, {(Math.Exp(p.High) - 1) * 100:+0.00;-0.00}%] ",
            $"over {p.Windows} aligned windows")));
        if (pairs.Count % 2 == 1 && pairs.Count > 1)
        {
            notes.Add("An odd number of pairs: one core arrangement counts once more than the other; an even number of rounds cancels a "
                + "faster core.");
        }

        MetricComparison row = Row(pairs, options);
        var runs = baseDocs.Select((d, i) => Run("base", baseNames[i], d)).Concat(currentDocs.Select((d, i) => Run("current",
            currentNames[i], d))).ToList();
        return new GateReport(workload, baseNames, currentNames, options, [row], notes)
        {
            Comparability = comparability,
            Disturbed = disturbed,
            Runs = runs,
            Design = Design,
        };
    }

    /// <summary>The throughput verdict over the pairs' log ratios: a one-sample t-test, the pair the unit.</summary>
    public static MetricComparison Row(IReadOnlyList<DuetPair> pairs, GateOptions options)
    {
        GateMetric m = GateMetric.Find(MetricName)!;
        double threshold = options.ThresholdFor(m.Name);
        int n = pairs.Count;
        double? baseLevel = n > 0 ? Statistics.Median(pairs.Select(p => p.BaseThroughput).ToArray()) : null;
        double? currentLevel = n > 0 ? Statistics.Median(pairs.Select(p => p.CurrentThroughput).ToArray()) : null;
        const string test = "duet: t-test over pair ratios";
        double[] d = pairs.Select(p => p.LogRatio).ToArray();
        double? point = n > 0 ? (Math.Exp(d.Average()) - 1) * 100 : null;
        if (n < 2)
        {
            string why = n == 0
                ? "no usable duet pair"
                : "one duet pair: the pair is the unit, and one pair cannot tell the candidate from the core it ran on; run two or more "
                    + "rounds (an even number)";
            return new MetricComparison(m.Name, test, baseLevel, currentLevel, point, null, null, null, n, n, threshold,
                GateVerdict.Inconclusive, why);
        }

        double mean = d.Average();
        double sd = Math.Sqrt(d.Sum(v => (v - mean) * (v - mean)) / (n - 1));
        var noise = new NoiseModel(sd, n - 1, $"the B/A ratios of {n} duet pairs");
        if (sd <= 0)
        {
            return new MetricComparison(m.Name, test, baseLevel, currentLevel, point, null, null, null, n, n, threshold,
                GateVerdict.Inconclusive,
                "the pair ratios show no spread at all, so no test can be made");
        }

        double se = sd / Math.Sqrt(n);
        double t = mean / se;
        double pLower = StudentT.CDF(0, 1, n - 1, t);
        (double pWorse, double pBetter) = m.HigherIsBetter ? (pLower, 1 - pLower) : (1 - pLower, pLower);
        double q = Statistics.StudentTQuantile(1 - options.Alpha, n - 1);
        double change = (Math.Exp(mean) - 1) * 100;
        (GateVerdict verdict, string reason) = Decide(m, change, pWorse, pBetter, threshold, options.Alpha, null, options.NoiseFloorMs);
        if (verdict == GateVerdict.Inconclusive && RunPlanning.PairsNeeded(noise, change, options.Alpha, threshold,
            options.Power) is { } needed)
        {
            reason += Invariant($"; about {needed} duet pairs would resolve a change of this size ({noise.Describe()})");
        }

        return new MetricComparison(m.Name, test, baseLevel, currentLevel, change, (Math.Exp(mean - q * se) - 1) * 100,
            (Math.Exp(mean + q * se) - 1) * 100,
            pWorse, n, n, threshold, verdict, reason)
        {
            Noise = noise.Describe(),
            SmallestDetectablePct = RunPlanning.SmallestDetectablePairedPct(noise, n, options.Alpha, threshold, options.Power),
        };
    }

    /// <summary>Pairs needed to find <paramref name="changePct"/>, from the spread of the pairs given (or the assumed CV).</summary>
    public static (NoiseModel Noise, int? Pairs, double SmallestWithFive, bool IgnoresThreshold) PlanPairs(
        IReadOnlyList<ResultDocument> baseDocs, IReadOnlyList<ResultDocument> currentDocs, double changePct, GateOptions options)
    {
        options = options.Validated();
        if (changePct is <= 0 or >= 1000)
        {
            throw HarnessException.BadInput("--plan-runs must be a percentage above 0%, e.g. 5%.");
        }

        var names = Enumerable.Range(0, Math.Max(baseDocs.Count, currentDocs.Count)).Select(i => $"#{i + 1}").ToList();
        List<DuetPair> pairs = Pairs(baseDocs, currentDocs, names, names, options).Pairs;
        double[] d = pairs.Select(p => p.LogRatio).ToArray();
        NoiseModel noise = d.Length >= 2
            ? new NoiseModel(Math.Sqrt(d.Sum(v => (v - d.Average()) * (v - d.Average())) / (d.Length - 1)), d.Length - 1,
                $"the B/A ratios of {d.Length} duet pairs")
            : NoiseModel.AssumedCv(options.PlanCv);
        double threshold = options.ThresholdFor(MetricName);
        bool ignores = changePct <= threshold;
        double used = ignores ? 0 : threshold;
        return (noise, RunPlanning.PairsNeeded(noise, changePct, options.Alpha, used, options.Power),
            RunPlanning.SmallestDetectablePairedPct(noise, 5, options.Alpha, used, options.Power), ignores);
    }

    private static string Text(params FormattableString[] parts) =>
        string.Concat(parts.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static RunRow Run(string side, string name, ResultDocument d) =>
        new(side, name, d.StartedUtc, d.Valid, d.Metrics.LatencyMs?.P50, null, null, d.Metrics.ThroughputPerS, null);

    private static string CpuText(DuetWindows w) => w.Cpus.Length == 0 ? "?" : string.Join(",",
        w.Cpus) + (w.Device is { } dev ? $" + {dev}" : "");

    private static string Windows(IReadOnlyList<int> k) => string.Join(", ",
        k.Take(8).Select(i => (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture))) + (k.Count > 8 ? ", ..." : "");
}
