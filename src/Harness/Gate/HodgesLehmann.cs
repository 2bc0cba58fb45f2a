namespace Harness.Gate;

/// <summary>
/// The Hodges-Lehmann estimate of the shift between two samples (the median of every pairwise
/// difference y - x) with Moses' distribution-free interval from the Mann-Whitney null
/// distribution: the companion of <see cref="MannWhitneyTest"/>, so the interval excludes 0 exactly
/// when the one-sided test at the same alpha rejects. On log values the shift is the log of the
/// ratio of medians, which is what the gate reports for run-level statistics.
/// </summary>
public static class HodgesLehmann
{
    /// <param name="Low">Lower end of the (1 - 2 alpha) interval; null when the samples are too small for one.</param>
    public sealed record Estimate(double Shift, double? Low, double? High);

    public static Estimate Shift(IReadOnlyList<double> x, IReadOnlyList<double> y, double alpha)
    {
        if (x.Count == 0 || y.Count == 0)
        {
            throw new ArgumentException("both samples need at least one value");
        }

        var d = new double[x.Count * y.Count];
        int i = 0;
        foreach (double a in x)
        {
            foreach (double b in y)
            {
                d[i++] = b - a;
            }
        }

        Array.Sort(d);
        int n = d.Length;
        double median = n % 2 == 1 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
        int k = MannWhitneyTest.CriticalRank(x.Count, y.Count, alpha);
        return k < 1 ? new Estimate(median, null, null) : new Estimate(median, d[k - 1], d[n - k]);
    }
}
