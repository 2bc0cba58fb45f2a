using Harness.Measurement;
using MathNet.Numerics;
using MathNet.Numerics.Distributions;

namespace Harness.Tests.Measurement;

/// <summary>
/// The values the hand-written special functions gave before MathNet.Numerics replaced them (Statistics.cs at b03d567:
/// Student's t through Numerical Recipes' incomplete beta, erfc by its Chebyshev fit, Acklam's inverse normal), pinned
/// here against MathNet's. Over a wider grid (t CDF: 19 t x 14 df; quantiles: 18 p x 14 df; Φ: -8..8 by 0.05) the
/// largest differences were 2.8e-8 (t CDF), 4.1e-8 (Φ, the old erfc's 1.2e-7 error), 1.1e-9 relative (Φ⁻¹), and
/// 2.7e-6 absolute for the t quantile at p = 0.5 (the old bisection stopped near, not at, 0); the integer results
/// (early-stopping bounds, the median's interval ranks) were identical at all 915 + 15,000 grid points.
/// </summary>
public class StatisticsOracleTests
{
    [Theory]
    [InlineData(-2.5, 3, 0.04385332350403279)]
    [InlineData(-1, 1, 0.25)]
    [InlineData(0.5, 4, 0.6783350184090687)]
    [InlineData(1.5, 10, 0.9177463367772808)]
    [InlineData(2, 19, 0.9699989818069508)]
    [InlineData(3, 60, 0.9980361513335138)]
    [InlineData(2.5, 10000000, 0.9937903350257904)]
    public void Student_t_cdf_is_the_old_one_within_3e_8(double t, double df, double old) =>
        Assert.InRange(StudentT.CDF(0, 1, df, t) - old, -3e-8, 3e-8);

    [Theory]
    [InlineData(0.95, 1, 6.313751514676596)]
    [InlineData(0.95, 4, 2.131846786326946)]
    [InlineData(0.99, 9, 2.821437925026885)]
    [InlineData(0.975, 30, 2.0422724563010206)]
    [InlineData(0.8, 19, 0.8609505502686261)]
    [InlineData(0.05, 7, -1.8945786050906008)]
    [InlineData(0.999, 120, 3.1595387433164888)]
    public void Student_t_quantile_is_the_old_one_within_1e_9_relative(double p, double df, double old)
    {
        Assert.InRange(Statistics.StudentTQuantile(p, df) / old - 1, -1e-9, 1e-9);
        Assert.InRange(StudentT.InvCDF(0, 1, df, p) / old - 1, -1e-9, 1e-9);
    }

    [Theory]
    [InlineData(-3, 0.001349898073255604)]
    [InlineData(-1.959963984540054, 0.02499999781572295)]
    [InlineData(-1, 0.15865526139567468)]
    [InlineData(0, 0.5000000150000002)]
    [InlineData(0.5, 0.6914624830813982)]
    [InlineData(1.6448536269514722, 0.950000001464032)]
    [InlineData(2.326347874040841, 0.9900000008066449)]
    [InlineData(4, 0.9999683287556081)]
    public void Normal_cdf_is_the_old_one_within_5e_8(double z, double old) =>
        Assert.InRange(Normal.CDF(0, 1, z) - old, -5e-8, 5e-8);

    [Theory]
    [InlineData(1E-06, -4.753424313836687)]
    [InlineData(0.001, -3.090232304709404)]
    [InlineData(0.01, -2.326347874388028)]
    [InlineData(0.025, -1.959963986120195)]
    [InlineData(0.3, -0.5244005132792953)]
    [InlineData(0.5, 0)]
    [InlineData(0.9, 1.2815515641401563)]
    [InlineData(0.95, 1.644853625133699)]
    [InlineData(0.975, 1.959963986120195)]
    [InlineData(0.999, 3.090232304709404)]
    public void Normal_quantile_is_the_old_one_within_2e_9_relative(double p, double old) =>
        Assert.InRange(Normal.InvCDF(0, 1, p) - old, -2e-9 * Math.Max(1, Math.Abs(old)), 2e-9 * Math.Max(1, Math.Abs(old)));

    [Theory]
    [InlineData(0.5, 0.5723649429246995)]
    [InlineData(3, 0.6931471805599463)]
    [InlineData(101, 363.73937555556336)]
    [InlineData(10001, 82108.92783681434)]
    public void Log_gamma_is_the_old_Lanczos_within_1e_13_relative(double x, double old) =>
        Assert.InRange(SpecialFunctions.GammaLn(x) / old - 1, -1e-13, 1e-13);

    [Theory]
    [InlineData(0.99, 0, 0.99, 459)]
    [InlineData(0.9, 0, 0.99, 44)]
    [InlineData(0.99, 10, 0.99, 2010)]
    [InlineData(0.95, 20, 0.95, 577)]
    [InlineData(0.999, 3, 0.9, 6679)]
    public void Early_stopping_bounds_are_the_old_ones(double p, int misses, double confidence, long old) =>
        Assert.Equal(old, Statistics.EarlyStoppingMinimum(p, misses, confidence));

    [Theory]
    [InlineData(6, 0.95, 0, 5)]
    [InlineData(100, 0.95, 39, 60)]
    [InlineData(1000, 0.99, 458, 541)]
    [InlineData(4000, 0.95, 1937, 2062)]
    public void Median_interval_ranks_are_the_old_ones(int n, double confidence, int lower, int upper) =>
        Assert.Equal((lower, upper), Statistics.MedianConfidenceIndices(n, confidence));
}
