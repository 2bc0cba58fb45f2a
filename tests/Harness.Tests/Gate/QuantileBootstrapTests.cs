using Harness.Gate;
using Harness.Testing;
using MathNet.Numerics.Distributions;

namespace Harness.Tests.Gate;

public class QuantileBootstrapTests
{
    [Fact]
    public void Identical_constant_samples_give_a_ratio_of_exactly_one()
    {
        double[] a = Enumerable.Repeat(7.0, 50).ToArray();

        double[][] r = QuantileBootstrap.Ratios(a, a, [0.5, 0.99], 200, 1);

        Assert.All(r.SelectMany(x => x), v => Assert.Equal(1.0, v));
    }

    [Fact]
    public void The_interval_covers_the_planted_ratio_and_is_reproducible()
    {
        var rng = new Random(8);
        double[] b = SyntheticResults.LogNormal(rng, 3000, 20, 0.2).Order().ToArray();
        double[] c = SyntheticResults.LogNormal(rng, 3000, 20 * 1.2, 0.2).Order().ToArray();

        double[][] first = QuantileBootstrap.Ratios(b, c, [0.5, 0.9, 0.99], 1000, 77);
        double[][] again = QuantileBootstrap.Ratios(b, c, [0.5, 0.9, 0.99], 1000, 77);

        Assert.Equal(first, again);
        foreach (double[] ratios in first)
        {
            Assert.True(ratios[25] < 1.2 && ratios[974] > 1.2, $"95% interval [{ratios[25]}, {ratios[974]}] misses the planted 1.2");
            Assert.True(ratios[25] > 1.05, "a 20% shift on 3000 samples per side must be clearly above 1");
        }
    }

    [Theory]
    [InlineData(0.5, 101)]
    [InlineData(0.9, 200)]
    [InlineData(0.99, 400)]
    public void Drawing_the_order_statistic_matches_resampling_with_replacement(double p, int n)
    {
        // The shortcut (an index from a Beta draw) against the textbook bootstrap (n draws with
        // replacement, then the nearest-rank quantile): their distributions must agree.
        double[] sorted = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        const int reps = 10_000;
        var rng = new Random(12);
        var naive = new double[reps];
        var resample = new double[n];
        for (int r = 0; r < reps; r++)
        {
            for (int i = 0; i < n; i++)
            {
                resample[i] = sorted[rng.Next(n)];
            }

            Array.Sort(resample);
            naive[r] = Harness.Measurement.Statistics.Percentile(resample, p);
        }

        double[] fast = QuantileBootstrap.Resample(sorted, p, reps, 5);
        Array.Sort(naive);
        Array.Sort(fast);

        foreach (double q in new[] { 0.05, 0.25, 0.5, 0.75, 0.95 })
        {
            int i = (int)(q * reps);
            Assert.InRange(fast[i], naive[i] - 1, naive[i] + 1);
        }

        Assert.InRange(fast.Average(), naive.Average() - 0.3, naive.Average() + 0.3);
    }

    [Theory]
    [InlineData(0.5, 101)]
    [InlineData(0.9, 200)]
    [InlineData(0.99, 400)]
    [InlineData(0.999, 3000)]
    public void The_drawn_index_follows_MathNets_Beta_distribution_of_the_order_statistic(double p, int n)
    {
        // Index j is drawn when floor(n U) = j, U ~ Beta(k + 1, n - k): P(index <= j) = I_{(j+1)/n}(k + 1, n - k).
        double[] sorted = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        const int reps = 20_000;
        double[] draws = QuantileBootstrap.Resample(sorted, p, reps, 5);
        Array.Sort(draws);
        int k = Harness.Measurement.Statistics.NearestRankIndex(n, p);
        double ks = 0;
        for (int j = 0, below = 0; j < n; j++)
        {
            while (below < reps && draws[below] <= j)
            {
                below++;
            }

            ks = Math.Max(ks, Math.Abs((double)below / reps - Beta.CDF(k + 1, n - k, (j + 1.0) / n)));
        }

        Assert.True(ks < 1.63 / Math.Sqrt(reps), $"Kolmogorov-Smirnov distance {ks}"); // the 99% bound; measured 0.005 to 0.009
    }
}
