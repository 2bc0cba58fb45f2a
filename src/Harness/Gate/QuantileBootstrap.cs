using Harness.Measurement;

namespace Harness.Gate;

/// <summary>
/// Percentile bootstrap of the ratio of two quantiles (current / base), for per-request latency.
/// Each resample draws n indices with replacement into the sorted sample and reads the nearest-rank
/// quantiles off the counts, so one resample costs O(n) for all quantiles at once, with no sort.
/// Seeded: the same inputs always give the same interval.
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
        var rng = new Random(seed);
        int k = ps.Count;
        var ratios = new double[k][];
        for (int i = 0; i < k; i++)
        {
            ratios[i] = new double[resamples];
        }

        var order = Enumerable.Range(0, k).OrderBy(i => ps[i]).ToArray();
        var baseCounts = new int[sortedBase.Length];
        var currentCounts = new int[sortedCurrent.Length];
        var qBase = new double[k];
        var qCurrent = new double[k];
        for (int b = 0; b < resamples; b++)
        {
            Resample(sortedBase, baseCounts, ps, order, rng, qBase);
            Resample(sortedCurrent, currentCounts, ps, order, rng, qCurrent);
            for (int i = 0; i < k; i++)
            {
                ratios[i][b] = Ratio(qCurrent[i], qBase[i]);
            }
        }

        foreach (double[] r in ratios)
        {
            Array.Sort(r);
        }

        return ratios;
    }

    /// <summary>current / base, with 0/0 as no change.</summary>
    public static double Ratio(double current, double baseline) =>
        baseline > 0 ? current / baseline : current > 0 ? double.PositiveInfinity : 1;

    private static void Resample(double[] sorted, int[] counts, IReadOnlyList<double> ps, int[] order, Random rng, double[] quantiles)
    {
        int n = sorted.Length;
        Array.Clear(counts);
        for (int i = 0; i < n; i++)
        {
            counts[rng.Next(n)]++;
        }

        long cumulative = 0;
        int index = 0;
        foreach (int q in order)
        {
            int rank = Statistics.NearestRankIndex(n, ps[q]); // 0-based rank in the resample
            while (cumulative + counts[index] <= rank)
            {
                cumulative += counts[index];
                index++;
            }

            quantiles[q] = sorted[index];
        }
    }
}
