using MathNet.Numerics.Distributions;

namespace Harness.Gate;

/// <summary>
/// Mann-Whitney U (Wilcoxon rank-sum) test: does one sample tend to take larger values than the
/// other? <see cref="Test"/> is the normal approximation with tie and continuity corrections;
/// <see cref="TestExact"/> counts the exact null distribution when there are no ties and few values
/// (a handful of runs per side, where the approximation is off by up to half the p-value).
/// Distribution-free, so it suits run-level metrics from a handful of runs.
/// Perfolizer's <c>MannWhitneyTest</c> is this test's oracle (tests/Harness.Tests/Gate/MannWhitneyOracleTests) but not
/// its engine: its normal approximation has no tie correction and takes a whole U (ties give halves here), and its
/// exact CDF fills a table of (max(n, m) + 1)² x U longs, 6.5 GB at <see cref="ExactLimit"/>, where
/// <see cref="NullCounts"/> needs n x m doubles.
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
        return new Result(u, (u - mean) / sd, 1 - Normal.CDF(0, 1, zGreater), Normal.CDF(0, 1, zLess));
    }

    /// <summary>Largest n x m for which the exact null distribution is counted (a few hundred runs per side).</summary>
    public const int ExactLimit = 40_000;

    /// <summary>The exact test when the values have no ties and n x m is at most <see cref="ExactLimit"/>; the normal approximation otherwise.</summary>
    public static Result TestExact(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Result approx = Test(x, y);
        double[]? counts = NullCounts(x.Count, y.Count);
        if (counts is null || x.Concat(y).Distinct().Count() < x.Count + y.Count)
        {
            return approx;
        }

        int u = (int)Math.Round(approx.U);
        double total = counts.Sum();
        double atMost = 0, atLeast = 0;
        for (int k = 0; k < counts.Length; k++)
        {
            atMost += k <= u ? counts[k] : 0;
            atLeast += k >= u ? counts[k] : 0;
        }

        return approx with { PGreater = atLeast / total, PLess = atMost / total };
    }

    /// <summary>
    /// The smallest one-sided p-value the test can give for these sample sizes (no ties, complete
    /// separation): 1 / C(n + m, n) exactly. When it is not below alpha, no outcome could be
    /// significant, so the verdict is "inconclusive" rather than a pass that could never have failed.
    /// </summary>
    public static double SmallestPossiblePValue(int n, int m)
    {
        if (n == 0 || m == 0)
        {
            return 1;
        }

        // C(n + m, n) by the running product, whole at every step, so that 1/20 stays exactly 1/20.
        double arrangements = 1;
        for (int i = 1; i <= Math.Min(n, m); i++)
        {
            arrangements = arrangements * (Math.Max(n, m) + i) / i;
        }

        return 1 / arrangements;
    }

    /// <summary>
    /// How many of the C(n + m, n) equally likely rank arrangements give U = 0, 1, ..., n x m: the
    /// coefficients of the Gaussian binomial coefficient, prod over i of (1 - q^(m+i)) / (1 - q^i).
    /// Null beyond <see cref="ExactLimit"/>.
    /// </summary>
    public static double[]? NullCounts(int n, int m)
    {
        if (n < 1 || m < 1 || (long)n * m > ExactLimit)
        {
            return null;
        }

        int size = n * m + 1;
        var c = new double[size];
        c[0] = 1;
        for (int i = 1; i <= n; i++)
        {
            // Multiply by (1 - q^(m+i)), then divide by (1 - q^i); each step keeps whole-number coefficients.
            for (int k = size - 1; k >= m + i; k--)
            {
                c[k] -= c[k - m - i];
            }

            for (int k = i; k < size; k++)
            {
                c[k] += c[k - i];
            }
        }

        return c;
    }

    /// <summary>
    /// The largest k with P(U &lt; k) &lt;= alpha under the null: the rank of the pairwise difference that
    /// bounds a one-sided (1 - alpha) interval of the shift (Moses). 0 when no interval at that level exists.
    /// </summary>
    public static int CriticalRank(int n, int m, double alpha)
    {
        double[]? counts = NullCounts(n, m);
        if (counts is null)
        {
            double mean = n * (double)m / 2;
            double sd = Math.Sqrt(n * (double)m * (n + m + 1) / 12);
            return Math.Max(0, (int)Math.Floor(mean - Normal.InvCDF(0, 1, 1 - alpha) * sd + 0.5));
        }

        double total = counts.Sum(), below = 0;
        int k = 0;
        while (k < counts.Length && (below + counts[k]) / total <= alpha)
        {
            below += counts[k];
            k++;
        }

        return k;
    }
}
