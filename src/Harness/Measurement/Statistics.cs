using MathNet.Numerics;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.RootFinding;
using MathNet.Numerics.Statistics;

namespace Harness.Measurement;

/// <summary>
/// Order statistics used by every result. Percentiles are nearest-rank (the value at 1-based rank
/// ceil(p*n) of the sorted samples, no interpolation), as MLPerf LoadGen reports them.
/// Distributions and special functions (Student's t, the normal, log-gamma) come from MathNet.Numerics
/// (<c>StudentT</c>, <c>Normal</c>, <c>SpecialFunctions</c>); only the harness's own definitions stay here:
/// nearest-rank percentiles, MLPerf's early-stopping bound, the median's order-statistic interval, and the
/// median absolute deviation (MathNet has no MAD).
/// </summary>
public static class Statistics
{
    /// <summary>Nearest-rank percentile of ascending-sorted values; <paramref name="p"/> in (0, 1].</summary>
    public static double Percentile(ReadOnlySpan<double> sorted, double p)
    {
        if (sorted.Length == 0)
        {
            throw new ArgumentException("no samples", nameof(sorted));
        }

        if (p <= 0 || p > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "percentile must be in (0, 1]");
        }

        return sorted[NearestRankIndex(sorted.Length, p)];
    }

    /// <summary>0-based index of the nearest-rank p-quantile among n sorted values.</summary>
    public static int NearestRankIndex(long n, double p)
    {
        // The small epsilon keeps p*n = 50.000000001 from rounding up past an exact rank.
        long rank = (long)Math.Ceiling(p * n - 1e-9);
        return (int)Math.Clamp(rank, 1, n) - 1;
    }

    /// <summary>Mean and sample standard deviation (n - 1); the deviation of a single value is 0, not NaN as in MathNet.</summary>
    public static (double Mean, double StdDev) MeanAndStdDev(ReadOnlySpan<double> values)
    {
        if (values.Length == 0)
        {
            return (double.NaN, double.NaN);
        }

        (double mean, double sd) = MathNet.Numerics.Statistics.Statistics.MeanStandardDeviation(values.ToArray());
        return (mean, values.Length > 1 ? sd : 0);
    }

    /// <summary>Scales a median absolute deviation to a standard deviation for normal data (1 / Φ⁻¹(3/4)).</summary>
    public const double MadToSigma = 1.4826;

    /// <summary>
    /// The middle value, averaging the two middle ones for an even count. For robust spreads across
    /// nodes or runs; latency percentiles stay nearest-rank (<see cref="Percentile"/>).
    /// </summary>
    public static double Median(ReadOnlySpan<double> values)
    {
        if (values.Length == 0)
        {
            throw new ArgumentException("no values", nameof(values));
        }

        return ArrayStatistics.MedianInplace(values.ToArray());
    }

    /// <summary>
    /// Median absolute deviation from <paramref name="median"/>, unscaled: a spread that a few wild
    /// values cannot inflate. Multiply by <see cref="MadToSigma"/> to compare with a standard deviation.
    /// </summary>
    public static double MedianAbsoluteDeviation(ReadOnlySpan<double> values, double median)
    {
        var deviations = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            deviations[i] = Math.Abs(values[i] - median);
        }

        return Median(deviations);
    }

    /// <summary>
    /// Distribution-free confidence interval of the median from order statistics: the ranks come
    /// from Binomial(n, 1/2), so coverage is at least <paramref name="confidence"/> for any continuous
    /// distribution. Returns 0-based indices into the sorted samples, or null when n is too small.
    /// </summary>
    public static (int Lower, int Upper)? MedianConfidenceIndices(int n, double confidence = 0.95)
    {
        double alphaHalf = (1 - confidence) / 2;
        if (n < 1)
        {
            return null;
        }

        int lowerRank; // 1-based
        if (n <= 1000)
        {
            // Largest l with P(X <= l-1) <= alpha/2 for X ~ Binomial(n, 1/2).
            lowerRank = 0;
            double cdf = 0;
            for (int k = 0; k < n; k++)
            {
                cdf += Math.Exp(LogBinomialPmf(n, k, 0.5));
                if (cdf > alphaHalf)
                {
                    break;
                }

                lowerRank = k + 1;
            }
        }
        else
        {
            double z = Normal.InvCDF(0, 1, 1 - alphaHalf);
            lowerRank = (int)Math.Floor(n / 2.0 - z * Math.Sqrt(n) / 2.0);
        }

        if (lowerRank < 1)
        {
            return null;
        }

        int upperRank = n - lowerRank + 1;
        return (lowerRank - 1, upperRank - 1);
    }

    /// <summary>
    /// MLPerf's early-stopping bound (tolerance 0): the fewest requests, of which <paramref name="misses"/>
    /// exceed the percentile's latency, that show the p-quantile holds with the given confidence.
    /// p99 with no miss needs 459, p90 needs 44.
    /// </summary>
    public static long EarlyStoppingMinimum(double p, int misses = 0, double confidence = 0.99)
    {
        if (p <= 0 || p >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "percentile must be in (0, 1)");
        }

        // Smallest n with P(Binomial(n, 1-p) <= misses) <= 1 - confidence; the CDF falls with n.
        double limit = Math.Log(1 - confidence);
        long lo = misses + 1, hi = misses + 1;
        while (LogBinomialCdf(hi, misses, 1 - p) > limit)
        {
            hi *= 2;
        }

        while (lo < hi)
        {
            long mid = lo + (hi - lo) / 2;
            if (LogBinomialCdf(mid, misses, 1 - p) <= limit)
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

    /// <summary>
    /// The t value below which a share <paramref name="p"/> of Student's t distribution lies: MathNet's CDF, inverted by
    /// MathNet's Brent root finder. MathNet's own <c>StudentT.InvCDF</c> searches only [-800, 800], which 1 or 2 degrees of
    /// freedom pass at p below 1e-4; the bracket here widens until it holds the quantile.
    /// </summary>
    public static double StudentTQuantile(double p, double df)
    {
        if (p <= 0 || p >= 1 || df <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "the probability must be in (0, 1) and the degrees of freedom positive");
        }

        double lo = -1, hi = 1;
        while (StudentT.CDF(0, 1, df, lo) > p)
        {
            lo *= 2;
        }

        while (StudentT.CDF(0, 1, df, hi) < p)
        {
            hi *= 2;
        }

        return Brent.FindRoot(t => StudentT.CDF(0, 1, df, t) - p, lo, hi, 1e-12, 200);
    }

    internal static double LogBinomialCdf(long n, int k, double p)
    {
        double max = double.NegativeInfinity;
        // Many misses (a long run over its SLO) would overflow the stack; rent from the heap then.
        Span<double> terms = k < 512 ? stackalloc double[k + 1] : new double[k + 1];
        for (int i = 0; i <= k; i++)
        {
            terms[i] = LogBinomialPmf(n, i, p);
            max = Math.Max(max, terms[i]);
        }

        double sum = 0;
        foreach (double t in terms)
        {
            sum += Math.Exp(t - max);
        }

        return max + Math.Log(sum);
    }

    internal static double LogBinomialPmf(long n, long k, double p) =>
        LogChoose(n, k) + k * Math.Log(p) + (n - k) * Math.Log(1 - p);

    private static double LogChoose(long n, long k) =>
        SpecialFunctions.GammaLn(n + 1) - SpecialFunctions.GammaLn(k + 1) - SpecialFunctions.GammaLn(n - k + 1);
}
