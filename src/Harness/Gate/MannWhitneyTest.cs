using Harness.Measurement;

namespace Harness.Gate;

/// <summary>
/// Mann-Whitney U (Wilcoxon rank-sum) test: does one sample tend to take larger values than the
/// other? Normal approximation with tie correction and continuity correction, one-sided p-values
/// in both directions. Distribution-free, so it suits run-level metrics from a handful of runs.
/// </summary>
public static class MannWhitneyTest
{
    /// <param name="U">U of <c>y</c>: the number of (x, y) pairs with y &gt; x, ties counting one half.</param>
    /// <param name="PGreater">One-sided p-value for "y tends to be larger than x".</param>
    /// <param name="PLess">One-sided p-value for "y tends to be smaller than x".</param>
    public sealed record Result(double U, double Z, double PGreater, double PLess);

    public static Result Test(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n = x.Count, m = y.Count;
        if (n == 0 || m == 0)
        {
            throw new ArgumentException("both samples need at least one value");
        }

        int total = n + m;
        var all = new (double Value, bool FromY)[total];
        for (int i = 0; i < n; i++)
        {
            all[i] = (x[i], false);
        }

        for (int j = 0; j < m; j++)
        {
            all[n + j] = (y[j], true);
        }

        Array.Sort(all, (a, b) => a.Value.CompareTo(b.Value));

        // Mid-ranks for ties; the tie term sum(t^3 - t) shrinks the variance.
        double rankSumY = 0, tieTerm = 0;
        for (int i = 0; i < total;)
        {
            int j = i;
            while (j + 1 < total && all[j + 1].Value == all[i].Value)
            {
                j++;
            }

            double midRank = (i + j + 2) / 2.0;
            int t = j - i + 1;
            tieTerm += (double)t * t * t - t;
            for (int k = i; k <= j; k++)
            {
                if (all[k].FromY)
                {
                    rankSumY += midRank;
                }
            }

            i = j + 1;
        }

        double u = rankSumY - m * (m + 1) / 2.0;
        double mean = n * (double)m / 2;
        double variance = n * (double)m / 12 * (total + 1 - tieTerm / ((double)total * (total - 1)));
        if (variance <= 0)
        {
            // Every value tied: no evidence either way.
            return new Result(u, 0, 1, 1);
        }

        double sd = Math.Sqrt(variance);
        double zGreater = (u - mean - 0.5) / sd;
        double zLess = (u - mean + 0.5) / sd;
        return new Result(u, (u - mean) / sd, 1 - Statistics.NormalCdf(zGreater), Statistics.NormalCdf(zLess));
    }

    /// <summary>
    /// The smallest one-sided p-value the test can give for these sample sizes (no ties, complete
    /// separation): when it is above alpha, no outcome could be significant, so the verdict is
    /// "inconclusive" rather than a pass that could never have failed.
    /// </summary>
    public static double SmallestPossiblePValue(int n, int m)
    {
        if (n == 0 || m == 0)
        {
            return 1;
        }

        double mean = n * (double)m / 2;
        double sd = Math.Sqrt(n * (double)m * (n + m + 1) / 12);
        return 1 - Statistics.NormalCdf((n * (double)m - mean - 0.5) / sd);
    }
}
