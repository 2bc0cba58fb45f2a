namespace Harness.Measurement;

/// <summary>
/// Order statistics used by every result. Percentiles are nearest-rank (the value at 1-based rank
/// ceil(p*n) of the sorted samples, no interpolation), as MLPerf LoadGen reports them.
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

    public static (double Mean, double StdDev) MeanAndStdDev(ReadOnlySpan<double> values)
    {
        if (values.Length == 0)
        {
            return (double.NaN, double.NaN);
        }

        // Welford: stable for long runs of nearly equal latencies.
        double mean = 0, m2 = 0;
        for (int i = 0; i < values.Length; i++)
        {
            double delta = values[i] - mean;
            mean += delta / (i + 1);
            m2 += delta * (values[i] - mean);
        }

        double sd = values.Length > 1 ? Math.Sqrt(m2 / (values.Length - 1)) : 0;
        return (mean, sd);
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

        double[] sorted = values.ToArray();
        Array.Sort(sorted);
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
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
            double z = NormalQuantile(1 - alphaHalf);
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

    private static double LogChoose(long n, long k) => LogGamma(n + 1) - LogGamma(k + 1) - LogGamma(n - k + 1);

    /// <summary>Lanczos approximation, accurate to ~1e-13 for the arguments used here.</summary>
    internal static double LogGamma(double x)
    {
        ReadOnlySpan<double> g =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7,
        ];
        if (x < 0.5)
        {
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }

        x -= 1;
        double a = g[0];
        double t = x + 7.5;
        for (int i = 1; i < 9; i++)
        {
            a += g[i] / (x + i);
        }

        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(a);
    }

    /// <summary>Student's t CDF with <paramref name="df"/> degrees of freedom (normal beyond 1e6), from the regularized incomplete beta.</summary>
    public static double StudentTCdf(double t, double df)
    {
        if (df <= 0 || double.IsNaN(t))
        {
            throw new ArgumentOutOfRangeException(nameof(df), df, "degrees of freedom must be positive");
        }

        if (df > 1e6)
        {
            return NormalCdf(t);
        }

        double x = df / (df + t * t);
        double tail = 0.5 * RegularizedBeta(x, df / 2, 0.5);
        return t >= 0 ? 1 - tail : tail;
    }

    /// <summary>The t value below which a share <paramref name="p"/> of Student's t distribution lies.</summary>
    public static double StudentTQuantile(double p, double df)
    {
        if (p <= 0 || p >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(p));
        }

        double lo = -1, hi = 1;
        while (StudentTCdf(lo, df) > p)
        {
            lo *= 2;
        }

        while (StudentTCdf(hi, df) < p)
        {
            hi *= 2;
        }

        for (int i = 0; i < 200 && hi - lo > 1e-12 * Math.Max(1, Math.Abs(hi)); i++)
        {
            double mid = (lo + hi) / 2;
            if (StudentTCdf(mid, df) < p)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return (lo + hi) / 2;
    }

    /// <summary>The regularized incomplete beta I_x(a, b), by Lentz's continued fraction (Numerical Recipes' betacf).</summary>
    internal static double RegularizedBeta(double x, double a, double b)
    {
        if (x <= 0)
        {
            return 0;
        }

        if (x >= 1)
        {
            return 1;
        }

        double front = Math.Exp(LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x));
        return x < (a + 1) / (a + b + 2)
            ? front * BetaContinuedFraction(x, a, b) / a
            : 1 - front * BetaContinuedFraction(1 - x, b, a) / b;
    }

    private static double BetaContinuedFraction(double x, double a, double b)
    {
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.Abs(d) < tiny ? tiny : d);
        double h = d;
        for (int m = 1; m <= 500; m++)
        {
            int m2 = 2 * m;
            double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 + aa * d;
            d = 1 / (Math.Abs(d) < tiny ? tiny : d);
            c = 1 + aa / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            h *= d * c;
            aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 + aa * d;
            d = 1 / (Math.Abs(d) < tiny ? tiny : d);
            c = 1 + aa / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            double delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-15)
            {
                break;
            }
        }

        return h;
    }

    /// <summary>Standard normal CDF, from the complementary error function (|error| &lt; 1.2e-7).</summary>
    public static double NormalCdf(double z) => 0.5 * Erfc(-z / Math.Sqrt(2));

    /// <summary>Complementary error function (Numerical Recipes' Chebyshev fit, relative error &lt; 1.2e-7).</summary>
    internal static double Erfc(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
            + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
            + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }

    /// <summary>Inverse standard normal CDF (Acklam's rational approximation, |error| &lt; 1.2e-9).</summary>
    public static double NormalQuantile(double p)
    {
        if (p <= 0 || p >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(p));
        }

        double[] a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        double[] b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        double[] c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        double[] d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double pLow = 0.02425;
        if (p < pLow)
        {
            double q = Math.Sqrt(-2 * Math.Log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }

        if (p > 1 - pLow)
        {
            double q = Math.Sqrt(-2 * Math.Log(1 - p));
            return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }

        double r = p - 0.5;
        double s = r * r;
        return (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r / (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1);
    }
}
