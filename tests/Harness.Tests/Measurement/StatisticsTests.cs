using Harness.Measurement;
using MathNet.Numerics.Distributions;

namespace Harness.Tests.Measurement;

public class StatisticsTests
{
    [Theory]
    [InlineData(0.50, 50)]
    [InlineData(0.90, 90)]
    [InlineData(0.95, 95)]
    [InlineData(0.99, 99)]
    [InlineData(0.999, 100)]
    [InlineData(0.001, 1)]
    [InlineData(1.0, 100)]
    public void Nearest_rank_percentiles_of_1_to_100(double p, double expected)
    {
        double[] values = Enumerable.Range(1, 100).Select(i => (double)i).ToArray();
        Assert.Equal(expected, Statistics.Percentile(values, p));
    }

    [Fact]
    public void Nearest_rank_takes_the_ceiling_rank_without_interpolation()
    {
        double[] values = [10, 20, 30, 40];
        Assert.Equal(20, Statistics.Percentile(values, 0.5)); // rank ceil(2) = 2
        Assert.Equal(30, Statistics.Percentile(values, 0.51)); // rank ceil(2.04) = 3
        Assert.Equal(40, Statistics.Percentile(values, 0.99));
    }

    [Theory]
    [InlineData(0.90, 0, 44)]
    [InlineData(0.90, 1, 64)]
    [InlineData(0.99, 0, 459)]
    [InlineData(0.99, 1, 662)]
    [InlineData(0.99, 5, 1307)]
    [InlineData(0.99, 10, 2010)]
    public void Early_stopping_minimum_matches_MLPerf(double p, int misses, long expected)
    {
        Assert.Equal(expected, Statistics.EarlyStoppingMinimum(p, misses));
    }

    [Fact]
    public void Mean_and_stdev_of_a_known_sample()
    {
        (double mean, double sd) = Statistics.MeanAndStdDev([2, 4, 4, 4, 5, 5, 7, 9]);
        Assert.Equal(5, mean, 12);
        Assert.Equal(Math.Sqrt(32.0 / 7), sd, 12);
    }

    [Fact]
    public void Median_interval_needs_at_least_six_samples()
    {
        Assert.Null(Statistics.MedianConfidenceIndices(5));
        Assert.Equal((0, 5), Statistics.MedianConfidenceIndices(6));
    }

    [Theory]
    [InlineData(20)]
    [InlineData(101)]
    [InlineData(2000)]
    public void Median_interval_covers_the_true_median_at_least_95_percent(int n)
    {
        // Exponential(1) has median ln 2; the interval is distribution-free, so any skew is fine.
        var rng = new Random(1234 + n);
        double median = Math.Log(2);
        int trials = 1000, covered = 0;
        var sample = new double[n];
        for (int t = 0; t < trials; t++)
        {
            for (int i = 0; i < n; i++)
            {
                sample[i] = -Math.Log(1 - rng.NextDouble());
            }

            Array.Sort(sample);
            var (lo, hi) = Statistics.MedianConfidenceIndices(n)!.Value;
            if (sample[lo] <= median && median <= sample[hi])
            {
                covered++;
            }
        }

        double coverage = (double)covered / trials;
        Assert.InRange(coverage, 0.935, 0.995);
    }

    [Fact]
    public void Percentiles_of_a_known_distribution_land_near_its_quantiles()
    {
        // 100k draws from Exponential(1): the nearest-rank p99 is close to -ln(0.01).
        var rng = new Random(7);
        double[] x = Enumerable.Range(0, 100_000).Select(_ => -Math.Log(1 - rng.NextDouble())).ToArray();
        Array.Sort(x);
        Assert.Equal(-Math.Log(0.5), Statistics.Percentile(x, 0.5), 1);
        Assert.InRange(Statistics.Percentile(x, 0.99), 4.45, 4.77);
    }

    [Fact]
    public void Median_averages_the_two_middle_values_of_an_even_count()
    {
        Assert.Equal(3, Statistics.Median([5, 1, 3]));
        Assert.Equal(2.5, Statistics.Median([4, 1, 3, 2]));
        Assert.Equal(7, Statistics.Median([7]));
    }

    [Fact]
    public void Median_absolute_deviation_ignores_one_wild_value()
    {
        double[] values = [10, 11, 9, 10, 10, 1000];
        double median = Statistics.Median(values);
        Assert.Equal(10, median);
        // Deviations 0, 1, 1, 0, 0, 990: their median is 0.5, whatever the wild value is.
        Assert.Equal(0.5, Statistics.MedianAbsoluteDeviation(values, median));
    }

    [Fact]
    public void Mad_scaled_by_1_4826_estimates_the_standard_deviation_of_normal_data()
    {
        var rng = new Random(11);
        double[] x = Enumerable.Range(0, 50_000)
            .Select(_ => 2.0 * Normal.InvCDF(0, 1, Math.Clamp(rng.NextDouble(), 1e-12, 1 - 1e-12)))
            .ToArray();
        double sigma = Statistics.MadToSigma * Statistics.MedianAbsoluteDeviation(x, Statistics.Median(x));
        Assert.InRange(sigma, 1.95, 2.05);
    }

    // Reference values: the closed forms of the t CDF for 3 and 5 degrees of freedom (1/2 + (theta + sin cos (1 + 2/3 cos^2)) / pi,
    // theta = atan(t / sqrt(df))), and for the quantiles tan(pi (p - 1/2)) at 1, (2p - 1) / sqrt(2p(1 - p)) at 2, R's qt(0.95, 10) at 10.
    [Theory]
    [InlineData(2.0, 5, 0.9490302605850709)]
    [InlineData(-1.5, 3, 0.1152919326224115)]
    [InlineData(0.0, 7, 0.5)]
    public void Student_t_cdf_matches_the_reference(double t, double df, double p)
    {
        Assert.Equal(p, StudentT.CDF(0, 1, df, t), 9);
    }

    [Theory]
    [InlineData(0.95, 10, 1.812461122811676)]
    [InlineData(0.975, 2, 4.302652729749464)]
    [InlineData(0.9, 1, 3.077683537175253)]
    public void Student_t_quantile_matches_the_reference(double p, double df, double t)
    {
        Assert.Equal(t, Statistics.StudentTQuantile(p, df), 7);
    }

    [Theory]
    [InlineData(1e-6, 1)]
    [InlineData(0.9999, 1)]
    [InlineData(1e-7, 2)]
    public void Student_t_quantile_holds_past_the_range_of_MathNets_own_inverse(double p, double df)
    {
        // MathNet's StudentT.InvCDF searches [-800, 800] only; these quantiles lie far beyond (-318,310 at the first).
        double t = Statistics.StudentTQuantile(p, df);
        Assert.True(Math.Abs(t) > 800, $"t = {t}");
        double tail = Math.Min(p, 1 - p), cdf = StudentT.CDF(0, 1, df, t);
        Assert.InRange(Math.Min(cdf, 1 - cdf) / tail - 1, -1e-6, 1e-6);
    }
}
