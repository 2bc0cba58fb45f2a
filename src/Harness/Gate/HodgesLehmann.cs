using Pragmastat;

namespace Harness.Gate;

/// <summary>
/// The Hodges-Lehmann estimate of the shift between two samples (the median of every pairwise
/// difference y - x) with Moses' distribution-free interval from the Mann-Whitney null
/// distribution: the companion of <see cref="MannWhitneyTest"/>, so the interval excludes 0 exactly
/// when the one-sided test at the same alpha rejects. On log values the shift is the log of the
/// ratio of medians, which is what the gate reports for run-level statistics.
/// The estimate is Perfolizer's (its Pragmastat <c>Toolkit.Shift</c>, the same median of pairwise differences,
/// found without listing them). The interval stays here: it needs the differences at exact ranks from
/// <see cref="MannWhitneyTest.CriticalRank"/>, and the library gives type-7 quantiles by probability only, which at a
/// rank turned into a probability can mix in the neighbouring difference by a rounding error.
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

        double shift = Toolkit.Shift(new Sample(y), new Sample(x)).NominalValue;
        int k = MannWhitneyTest.CriticalRank(x.Count, y.Count, alpha);
        if (k < 1)
        {
            return new Estimate(shift, null, null);
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
        return new Estimate(shift, d[k - 1], d[d.Length - k]);
    }
}
