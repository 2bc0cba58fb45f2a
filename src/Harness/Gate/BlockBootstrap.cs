using Harness.Measurement;

namespace Harness.Gate;

/// <summary>
/// A run's own confidence interval of a latency percentile, honest about autocorrelation: a
/// moving-block bootstrap (Kunsch) resamples blocks of consecutive requests, a second's worth or
/// more, so that a slow patch of the run stays together instead of being spread as if every
/// request were independent. Seeded, so the same run always gives the same interval.
/// Perfolizer has no bootstrap and no interval for autocorrelated samples, so this stays; with blocks of one request
/// (independent samples) its interval of the median is checked against Perfolizer's Maritz-Jarrett interval.
/// </summary>
public static class BlockBootstrap
{
    /// <summary>The interval of each percentile in <paramref name="ps"/>, in the order of the samples given.</summary>
    /// <param name="ordered">The run's samples in the order they were recorded (per worker, in time).</param>
    /// <param name="blockLength">Requests per block: a second of one worker's requests, at least n^(1/3).</param>
    /// <param name="confidence">Two-sided coverage, e.g. 0.9.</param>
    public static (double Low, double High)[] PercentileIntervals(double[] ordered, IReadOnlyList<double> ps, int blockLength, double confidence, int resamples = 200, int seed = 1)
    {
        int n = ordered.Length;
        if (n == 0)
        {
            throw new ArgumentException("no samples", nameof(ordered));
        }

        int block = Math.Clamp(blockLength, 1, n);
        int blocks = (n + block - 1) / block;
        var rng = new Random(seed);
        var estimates = new double[ps.Count][];
        for (int j = 0; j < ps.Count; j++)
        {
            estimates[j] = new double[resamples];
        }

        var resample = new double[blocks * block];
        for (int r = 0; r < resamples; r++)
        {
            for (int b = 0; b < blocks; b++)
            {
                int start = rng.Next(n - block + 1);
                Array.Copy(ordered, start, resample, b * block, block);
            }

            // n values of the concatenated blocks (the last block is cut to length).
            Array.Sort(resample, 0, n);
            for (int j = 0; j < ps.Count; j++)
            {
                estimates[j][r] = resample[Statistics.NearestRankIndex(n, ps[j])];
            }
        }

        double tail = (1 - confidence) / 2;
        var intervals = new (double, double)[ps.Count];
        for (int j = 0; j < ps.Count; j++)
        {
            Array.Sort(estimates[j]);
            intervals[j] = (estimates[j][(int)Math.Floor(tail * (resamples - 1))], estimates[j][(int)Math.Ceiling((1 - tail) * (resamples - 1))]);
        }

        return intervals;
    }

    /// <summary>
    /// The interval of any statistic of a series of <paramref name="n"/> observations in time order (a
    /// duet pair's windows): each resample is n indices made of blocks of consecutive ones.
    /// </summary>
    public static (double Low, double High) Interval(int n, int blockLength, double confidence, Func<int[], double> statistic,
        int resamples = 200, int seed = 1)
    {
        if (n == 0)
        {
            throw new ArgumentException("no observations", nameof(n));
        }

        int block = Math.Clamp(blockLength, 1, n);
        var rng = new Random(seed);
        var estimates = new double[resamples];
        var indices = new int[n];
        for (int r = 0; r < resamples; r++)
        {
            for (int i = 0; i < n; i += block)
            {
                int start = rng.Next(n - block + 1);
                for (int j = 0; j < block && i + j < n; j++)
                {
                    indices[i + j] = start + j;
                }
            }

            estimates[r] = statistic(indices);
        }

        Array.Sort(estimates);
        double tail = (1 - confidence) / 2;
        return (estimates[(int)Math.Floor(tail * (resamples - 1))], estimates[(int)Math.Ceiling((1 - tail) * (resamples - 1))]);
    }

    /// <summary>A second of one worker's requests (the run's request rate over its workers), and at least n^(1/3).</summary>
    public static int BlockLength(int samples, double windowSeconds, int workers) =>
        Math.Max((int)Math.Ceiling(Math.Cbrt(samples)), windowSeconds > 0 ? (int)Math.Ceiling(samples / (windowSeconds * Math.Max(1, workers))) : 1);
}
