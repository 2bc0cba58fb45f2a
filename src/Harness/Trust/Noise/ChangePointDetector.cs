using Harness.Measurement;

namespace Harness.Trust.Noise;

/// <summary>
/// Where a series of runs shifts level (after Hunter and MongoDB's E-Divisive practice): binary
/// segmentation by the split with the largest Welch t statistic on log values, each split kept only
/// when a seeded permutation test of that largest statistic gives p &lt; alpha, so that scanning every
/// split does not find one in noise. Segments hold at least <see cref="MinSegment"/> runs, so a
/// single spike is not a change point.
/// Perfolizer's change-point detector (ED-PELT) is this one's oracle, not its engine: it penalizes the number of
/// segments instead of giving each split a p-value, so it has no alpha to hold false alarms to on a handful of runs.
/// </summary>
public static class ChangePointDetector
{
    public const int MinSegment = 3;

    /// <param name="Index">The first run of the new level (0-based, in the series' order).</param>
    public sealed record ChangePoint(int Index, double MedianBefore, double MedianAfter, double PValue);

    public static IReadOnlyList<ChangePoint> Find(IReadOnlyList<double> series, double alpha = 0.01, int permutations = 999, int seed = 1)
    {
        double[] logs = series.Select(v => Math.Log(v)).ToArray();
        var found = new List<ChangePoint>();
        Split(logs, 0, logs.Length, alpha, permutations, new Random(seed), found, series);
        return found.OrderBy(c => c.Index).ToList();
    }

    private static void Split(double[] logs, int from, int to, double alpha, int permutations, Random rng, List<ChangePoint> found, IReadOnlyList<double> series)
    {
        if (to - from < 2 * MinSegment)
        {
            return;
        }

        double[] segment = logs[from..to];
        (int split, double stat) = BestSplit(segment);
        int atLeast = 0;
        var shuffled = (double[])segment.Clone();
        for (int i = 0; i < permutations; i++)
        {
            rng.Shuffle(shuffled);
            if (BestSplit(shuffled).Stat >= stat)
            {
                atLeast++;
            }
        }

        double p = (atLeast + 1.0) / (permutations + 1.0);
        if (p >= alpha)
        {
            return;
        }

        int at = from + split;
        found.Add(new ChangePoint(at, Median(series, from, at), Median(series, at, to), p));
        Split(logs, from, at, alpha, permutations, rng, found, series);
        Split(logs, at, to, alpha, permutations, rng, found, series);
    }

    /// <summary>The split (index of the first value after it) with the largest |Welch t|, segments of at least <see cref="MinSegment"/>.</summary>
    private static (int Split, double Stat) BestSplit(double[] x)
    {
        int n = x.Length;
        var prefix = new double[n + 1];
        var prefixSq = new double[n + 1];
        for (int i = 0; i < n; i++)
        {
            prefix[i + 1] = prefix[i] + x[i];
            prefixSq[i + 1] = prefixSq[i] + x[i] * x[i];
        }

        int best = -1;
        double bestStat = -1;
        for (int k = MinSegment; k <= n - MinSegment; k++)
        {
            double ma = prefix[k] / k, mb = (prefix[n] - prefix[k]) / (n - k);
            double va = Math.Max(0, (prefixSq[k] - k * ma * ma) / (k - 1));
            double vb = Math.Max(0, (prefixSq[n] - prefixSq[k] - (n - k) * mb * mb) / (n - k - 1));
            double se = Math.Sqrt(va / k + vb / (n - k)) + 1e-12;
            double t = Math.Abs(ma - mb) / se;
            if (t > bestStat)
            {
                (best, bestStat) = (k, t);
            }
        }

        return (best, bestStat);
    }

    private static double Median(IReadOnlyList<double> series, int from, int to) => Statistics.Median(series.Skip(from).Take(to - from).ToArray());
}
