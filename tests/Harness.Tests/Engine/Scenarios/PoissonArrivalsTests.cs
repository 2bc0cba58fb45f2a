using Harness.Engine.Scenarios;

namespace Harness.Tests.Engine.Scenarios;

/// <summary>The arrival schedule alone: no clock, so rate and dispersion are checked exactly and fast.</summary>
public class PoissonArrivalsTests
{
    [Theory]
    [InlineData(5.0, 1)]
    [InlineData(50.0, 7)]
    [InlineData(2000.0, 42)]
    public void Arrival_rate_matches_the_requested_rate(double rate, int seed)
    {
        const int n = 100_000;
        double[] times = PoissonArrivals.Times(rate, seed, n);

        double observed = n / times[^1];

        // The estimate's standard error is rate/sqrt(n) = 0.32%; 1.5% is almost five of them.
        Assert.InRange(observed, rate * 0.985, rate * 1.015);
    }

    [Fact]
    public void Counts_per_window_have_the_dispersion_of_a_poisson_process()
    {
        const double rate = 50;
        const int windows = 4000;
        double[] times = PoissonArrivals.Times(rate, 123, (int)(rate * windows * 1.1));
        var counts = new int[windows];
        foreach (double t in times)
        {
            if (t < windows)
            {
                counts[(int)t]++;
            }
        }

        double mean = counts.Average();
        double variance = counts.Sum(c => (c - mean) * (c - mean)) / (windows - 1);

        // Poisson counts: variance equals the mean (index of dispersion 1; its standard error is
        // sqrt(2/(k-1)) = 0.022 here). A fixed-interval schedule would give 0, a bursty one far above 1.
        Assert.InRange(mean, rate * 0.98, rate * 1.02);
        Assert.InRange(variance / mean, 0.92, 1.08);
    }

    [Fact]
    public void Gaps_are_exponential()
    {
        const double rate = 200;
        const int n = 50_000;
        double[] times = PoissonArrivals.Times(rate, 99, n);
        var gaps = new double[n];
        gaps[0] = times[0];
        for (int i = 1; i < n; i++)
        {
            gaps[i] = times[i] - times[i - 1];
        }

        double mean = gaps.Average();
        double sd = Math.Sqrt(gaps.Sum(g => (g - mean) * (g - mean)) / (n - 1));
        Array.Sort(gaps);
        double ks = 0;
        for (int i = 0; i < n; i++)
        {
            double cdf = 1 - Math.Exp(-rate * gaps[i]);
            ks = Math.Max(ks, Math.Max(Math.Abs(cdf - (double)i / n), Math.Abs(cdf - (i + 1.0) / n)));
        }

        Assert.InRange(sd / mean, 0.98, 1.02); // coefficient of variation of an exponential is 1
        Assert.True(ks < 1.63 / Math.Sqrt(n), $"Kolmogorov-Smirnov distance {ks} exceeds the 1% critical value");
    }

    [Fact]
    public void The_same_seed_gives_the_same_schedule_and_another_seed_another()
    {
        double[] a = PoissonArrivals.Times(30, 5, 1000);
        double[] b = PoissonArrivals.Times(30, 5, 1000);
        double[] c = PoissonArrivals.Times(30, 6, 1000);

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.True(a.Zip(a.Skip(1)).All(p => p.Second > p.First), "arrival times must increase");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NaN)]
    public void Rejects_a_rate_that_is_not_positive_and_finite(double rate) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new PoissonArrivals(rate, 1));
}
