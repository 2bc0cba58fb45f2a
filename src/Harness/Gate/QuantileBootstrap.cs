using Harness.Measurement;

namespace Harness.Gate;

/// <summary>
/// Percentile bootstrap of the ratio of two quantiles (current / base), for per-request latency.
/// A resample's nearest-rank quantile is drawn directly instead of by resampling n values: with
/// n indices drawn uniformly with replacement, the (k+1)-th smallest is floor(n x U) with
/// U ~ Beta(k+1, n-k), the (k+1)-th order statistic of n uniforms. That is exactly the bootstrap
/// distribution of the quantile, at O(1) per resample instead of O(n). Seeded: the same inputs
/// always give the same interval.
/// Perfolizer has no bootstrap (its quantile intervals are Maritz-Jarrett's, around the Harrell-Davis estimate, not
/// the nearest-rank percentile the harness reports), so this stays; MathNet's Beta distribution is the oracle of its
/// draws (tests/Harness.Tests/Gate/QuantileBootstrapTests).
/// </summary>
public static class QuantileBootstrap
{
    /// <summary>
    /// For each quantile in <paramref name="ps"/>, <paramref name="resamples"/> bootstrap ratios
    /// q*(current) / q*(base), sorted ascending.
    /// </summary>
    public static double[][] Ratios(double[] sortedBase, double[] sortedCurrent, IReadOnlyList<double> ps, int resamples, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(resamples, 1);
        var ratios = new double[ps.Count][];
        for (int i = 0; i < ps.Count; i++)
        {
            double[] b = Resample(sortedBase, ps[i], resamples, seed + 2 * i);
            double[] c = Resample(sortedCurrent, ps[i], resamples, seed + 2 * i + 1);
            var r = new double[resamples];
            for (int j = 0; j < resamples; j++)
            {
                r[j] = Ratio(c[j], b[j]);
            }

            Array.Sort(r);
            ratios[i] = r;
        }

        return ratios;
    }

    /// <summary>The quantile <paramref name="p"/> of <paramref name="resamples"/> bootstrap resamples of the sorted sample.</summary>
    public static double[] Resample(double[] sorted, double p, int resamples, int seed)
    {
        int n = sorted.Length;
        if (n == 0)
        {
            throw new ArgumentException("no samples", nameof(sorted));
        }

        int k = Statistics.NearestRankIndex(n, p);
        var rng = new SplitMix64((ulong)seed * 0x9E3779B97F4A7C15UL + 1);
        var values = new double[resamples];
        for (int j = 0; j < resamples; j++)
        {
            double u = rng.Beta(k + 1, n - k);
            values[j] = sorted[Math.Min(n - 1, (int)(u * n))];
        }

        return values;
    }

    /// <summary>current / base, with 0/0 as no change.</summary>
    public static double Ratio(double current, double baseline) =>
        baseline > 0 ? current / baseline : current > 0 ? double.PositiveInfinity : 1;

    /// <summary>
    /// SplitMix64 (Steele, Lea and Flood), with Beta draws from two Gamma draws (Marsaglia and
    /// Tsang). Its algorithm is fixed here, unlike <see cref="Random"/>'s unseeded one, so
    /// intervals are reproducible across .NET versions.
    /// </summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        /// <summary>Uniform in (0, 1).</summary>
        public double NextDouble()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return ((z >> 11) + 0.5) * (1.0 / (1UL << 53));
        }

        /// <summary>Beta(a, b) for a, b &gt;= 1.</summary>
        public double Beta(double a, double b)
        {
            double x = Gamma(a);
            double y = Gamma(b);
            return x / (x + y);
        }

        private double Gamma(double shape)
        {
            // Marsaglia and Tsang (2000), valid for shape >= 1.
            double d = shape - 1.0 / 3;
            double c = 1 / Math.Sqrt(9 * d);
            while (true)
            {
                double x, v;
                do
                {
                    x = Normal();
                    v = 1 + c * x;
                }
                while (v <= 0);

                v = v * v * v;
                double u = NextDouble();
                if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v)))
                {
                    return d * v;
                }
            }
        }

        private double Normal() => Math.Sqrt(-2 * Math.Log(NextDouble())) * Math.Cos(2 * Math.PI * NextDouble());
    }
}
