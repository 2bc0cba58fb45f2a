using Harness.Measurement;
using Harness.Results;
using Harness.Trust.Comparability;
using Harness.Trust.Noise;
using MathNet.Numerics.Distributions;
using static System.FormattableString;
using static Harness.Gate.RegressionGate;

namespace Harness.Gate;

/// <summary>
/// What a disturbance does to a duet pair. A window is disturbed when either side's mean latency in it is
/// <see cref="SlowPct"/> or more above that side's own median window (or the side completed nothing in it);
/// it hit ONE side when the two sides' slowdowns differ by <see cref="OneSidedGapPct"/> or more, else both
/// alike. What hits both alike cancels in the ratio: the window stays. A window hit on one side does not
/// cancel: it is dropped from the pair's ratio (both sides' window, so the rest stay aligned), and the pair
/// counts while at least <see cref="MinKeptShare"/> of its windows, and <see cref="MinKept"/>, remain;
/// with fewer the pair is disturbed and the comparison inconclusive (unless allowed noisy). Half, because
/// each side's slowdown is measured against its own median window: once half the windows are hit, the
/// median is itself a disturbed level and the rule no longer tells hit from clean. Three, because the
/// pair's interval is a bootstrap over its kept windows, which needs a few. A window of few requests
/// moves by chance (the log of a count c by about 1/sqrt(c)), so both limits widen to
/// <see cref="CountSigmas"/> such steps (the gap to half that) when the windows hold few requests.
/// Dropping windows could hide a candidate that stalls on its own, so <see cref="LeanAlpha"/> bounds how
/// one-sided the drops may lean to the candidate (<see cref="DuetGate.Lean"/>).
/// </summary>
public sealed record DuetDisturbanceRule(
    double SlowPct = 20, double OneSidedGapPct = 10, double MinKeptShare = 0.5, int MinKept = 3, double CountSigmas = 4,
    double LeanAlpha = 0.01)
{
    public static DuetDisturbanceRule Default { get; } = new();

    /// <summary>The slowdown and one-sided gap, as logs of ratios, for windows of <paramref name="medianCount"/> requests.</summary>
    public (double SlowLog, double GapLog) Limits(double medianCount)
    {
        double chance = medianCount > 0 ? CountSigmas / Math.Sqrt(medianCount) : 0;
        return (Math.Max(Math.Log(1 + SlowPct / 100), chance), Math.Max(Math.Log(1 + OneSidedGapPct / 100), chance / 2));
    }

    /// <summary>The windows a pair of <paramref name="windows"/> must keep once it drops any.</summary>
    public int KeptNeeded(int windows) => Math.Max(MinKept, (int)Math.Ceiling(MinKeptShare * windows - 1e-9));
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
/// <param name="Windows">The aligned windows of the pair.</param>
/// <param name="Kept">The windows its ratio is made of: the aligned ones less those hit on one side.</param>
/// <param name="LogRatio">ln(current / base) of the completions summed over the kept windows.</param>
/// <param name="Low">The block-bootstrap interval of <paramref name="LogRatio"/> over the kept windows.</param>
/// <param name="OneSided">Indices of the windows a disturbance hit on one side only: dropped.</param>
/// <param name="CurrentSlower">Those of <paramref name="OneSided"/> in which the current side was the slower one.</param>
/// <param name="BothSided">Indices of the windows a disturbance hit on both sides alike: kept.</param>
/// <param name="SlowPct">The slowdown that marked a window disturbed, in percent (widened for windows of few requests).</param>
/// <param name="GapPct">The gap between the sides' slowdowns that made a disturbance one-sided, in percent.</param>
public sealed record DuetPair(
    int Pair, string BaseRun, string CurrentRun, string BaseCpus, string CurrentCpus, int Windows, int Kept,
    double BaseThroughput, double CurrentThroughput, double LogRatio, double Low, double High,
    IReadOnlyList<int> OneSided, IReadOnlyList<int> CurrentSlower, IReadOnlyList<int> BothSided, double SlowPct, double GapPct)
{
    public double RatioPct => (Math.Exp(LogRatio) - 1) * 100;

    /// <summary>Too few windows are left once those hit on one side are dropped (<see cref="DuetDisturbanceRule.KeptNeeded"/>).</summary>
    public bool TooFewKept(DuetDisturbanceRule rule) => OneSided.Count > 0 && Kept < rule.KeptNeeded(Windows);
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

    /// <summary>The <see cref="DisturbedRun.Side"/> of a disturbance judged over several pairs together (their numbers the run).</summary>
    public const string PairsSide = "pairs";

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

    /// <summary>
    /// One pair's ratio over its kept windows (the aligned ones less those a disturbance hit on one side), its
    /// interval over them, and the windows a disturbance hit on one side (dropped) or on both (kept).
    /// </summary>
    public static DuetPair? Evidence(DuetWindows a, DuetWindows b, int windows, string baseRun, string currentRun, GateOptions options,
        DuetDisturbanceRule rule)
    {
        long[] ca = a.Completions[..windows], cb = b.Completions[..windows];
        if (ca.Sum() == 0 || cb.Sum() == 0)
        {
            return null;
        }

        (List<int> oneSided, List<int> bothSided) = Disturbed(a, b, windows, rule);
        int[] kept = [.. Enumerable.Range(0, windows).Except(oneSided)];
        // A pair with nothing usable left keeps all its windows for its (disturbed, so blocking) ratio.
        int[] used = kept.Sum(k => ca[k]) > 0 && kept.Sum(k => cb[k]) > 0 ? kept : [.. Enumerable.Range(0, windows)];

        // The statistic over positions in the kept series: a resample of it joins windows on either side of a dropped one.
        double Statistic(int[] idx)
        {
            double sa = 0, sb = 0;
            foreach (int i in idx)
            {
                sa += ca[used[i]];
                sb += cb[used[i]];
            }

            return sa > 0 && sb > 0 ? Math.Log(sb / sa) : 0;
        }

        int block = Math.Max(2, (int)Math.Ceiling(Math.Cbrt(used.Length)));
        (double low, double high) = BlockBootstrap.Interval(used.Length, block, 1 - 2 * options.Alpha, Statistic,
            options.BootstrapResamples, options.Seed + a.Pair);
        double[] sa = Slowdowns(a, windows), sb = Slowdowns(b, windows);
        List<int> currentSlower = [.. oneSided.Where(k => sb[k] > sa[k])];
        (double slow, double gap) = rule.Limits(Math.Min(MedianCount(a, windows), MedianCount(b, windows)));
        double seconds = used.Length * a.WindowS;
        return new DuetPair(a.Pair, baseRun, currentRun, CpuText(a), CpuText(b), windows, kept.Length, used.Sum(k => ca[k]) / seconds,
            used.Sum(k => cb[k]) / seconds, Statistic([.. Enumerable.Range(0, used.Length)]), low, high, oneSided, currentSlower, bothSided,
            (Math.Exp(slow) - 1) * 100, (Math.Exp(gap) - 1) * 100);
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

    /// <summary>
    /// Whether the windows dropped as hit on one side lean to the candidate: a neighbour strikes either core, and
    /// the sides swap cores, so it slows the base as often as the candidate; a candidate that stalls on its own
    /// (pauses, compaction) would look like a one-sided disturbance, and dropping its windows would hide it. They
    /// lean when the candidate was the slower side in more than half of them in each core arrangement that
    /// has any (a neighbour that favours one core favours the base in one arrangement and the candidate in the
    /// other), and a sign test over all of them gives p below <see cref="DuetDisturbanceRule.LeanAlpha"/>.
    /// </summary>
    /// <returns>The candidate-slower and dropped window counts and the sign test's p, when they lean; else null.</returns>
    public static (int CurrentSlower, int Dropped, double P)? Lean(IReadOnlyList<DuetPair> pairs, DuetDisturbanceRule rule)
    {
        int dropped = pairs.Sum(p => p.OneSided.Count), slower = pairs.Sum(p => p.CurrentSlower.Count);
        if (dropped == 0)
        {
            return null;
        }

        bool everyArrangement = pairs.GroupBy(p => p.CurrentCpus, StringComparer.Ordinal)
            .Select(g => (Slower: g.Sum(p => p.CurrentSlower.Count), Dropped: g.Sum(p => p.OneSided.Count)))
            .Where(g => g.Dropped > 0)
            .All(g => 2 * g.Slower > g.Dropped);
        double pValue = slower == 0 ? 1 : 1 - Binomial.CDF(0.5, dropped, slower - 1);
        return everyArrangement && pValue < rule.LeanAlpha ? (slower, dropped, pValue) : null;
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
        foreach (DuetPair p in pairs.Where(p => p.TooFewKept(rule)))
        {
            disturbed.Add(new DisturbedRun(PairSide, $"{p.Pair}", [Text(
                $"a disturbance hit one side only in {p.OneSided.Count} of its {p.Windows} windows (window(s) {Windows(p.OneSided)}: ",
                $"one side {p.SlowPct:0}% or more slower than its median, the other {p.GapPct:0}% less), which the ratio does not ",
                $"cancel; dropping them leaves {p.Kept}, fewer than the {rule.KeptNeeded(p.Windows)} a pair of {p.Windows} windows needs ",
                $"(at least {rule.MinKeptShare:0%} of them and {rule.MinKept})")],
                !options.AllowNoisy, "duet windows"));
        }

        if (Lean(pairs, rule) is { } lean)
        {
            string which = string.Join(", ", pairs.Where(p => p.CurrentSlower.Count > 0).Select(p => p.Pair));
            disturbed.Add(new DisturbedRun(PairsSide, which, [Text(
                $"the windows dropped as hit on one side lean to the current side: it was the slower one in {lean.CurrentSlower} of ",
                $"{lean.Dropped}, in every core arrangement (sign test p = {lean.P:0.####}, where a neighbour strikes either side alike); ",
                $"a candidate that stalls on its own looks the same, and dropping its windows would hide it")],
                !options.AllowNoisy, "duet windows"));
        }

        notes.Add("Each side's own disturbance verdict counts its partner as another process; a duet judges disturbance per window from "
            + "both sides instead.");
        int dropped = pairs.Sum(p => p.OneSided.Count), slowerCurrent = pairs.Sum(p => p.CurrentSlower.Count);
        if (dropped > 0 || pairs.Any(p => p.BothSided.Count > 0))
        {
            notes.Add(Text(
                $"Windows dropped from their pair's ratio as hit on one side only (which the ratio does not cancel): {dropped} of ",
                $"{pairs.Sum(p => p.Windows)} (the base the slower side in {dropped - slowerCurrent}, the current in {slowerCurrent}); ",
                $"hit on both sides alike and kept (the ratio cancels them): {pairs.Sum(p => p.BothSided.Count)}. A pair counts while it ",
                $"keeps at least {rule.MinKeptShare:0%} of its windows and {rule.MinKept}."));
        }

        notes.AddRange(pairs.Select(p => Text(
            $"pair {p.Pair} (base on CPU {p.BaseCpus}, current on CPU {p.CurrentCpus}): current/base throughput ",
            $"{p.RatioPct:+0.00;-0.00}% [{(Math.Exp(p.Low) - 1) * 100:+0.00;-0.00}%, {(Math.Exp(p.High) - 1) * 100:+0.00;-0.00}%] ",
            $"over {p.Kept} of {p.Windows} aligned windows") + WindowsText(p, rule)));
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
        // The pairs the t-test would use: each one's ratio over its kept windows, a disturbed pair left out.
        List<DuetPair> pairs = Pairs(baseDocs, currentDocs, names, names, options).Pairs;
        double[] d = [.. pairs.Where(p => !p.TooFewKept(DuetDisturbanceRule.Default)).Select(p => p.LogRatio)];
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

    /// <summary>What a pair dropped and kept, and why, after its ratio.</summary>
    private static string WindowsText(DuetPair p, DuetDisturbanceRule rule)
    {
        var parts = new List<string>();
        if (p.OneSided.Count > 0)
        {
            int current = p.CurrentSlower.Count;
            parts.Add(Text(
                $"{p.OneSided.Count} dropped as hit on one side only (window(s) {Windows(p.OneSided)}: one side {p.SlowPct:0}% or more ",
                $"slower than its median and {p.GapPct:0}% more than the other; the base the slower in {p.OneSided.Count - current}, ",
                $"the current in {current})"));
        }

        if (p.BothSided.Count > 0)
        {
            parts.Add(Text($"{p.BothSided.Count} hit on both sides alike and kept (window(s) {Windows(p.BothSided)})"));
        }

        if (p.TooFewKept(rule))
        {
            parts.Add("too few kept: the pair is DISTURBED");
        }

        return parts.Count == 0 ? "" : "; " + string.Join("; ", parts);
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
