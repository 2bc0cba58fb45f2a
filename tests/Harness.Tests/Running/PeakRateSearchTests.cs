using Harness.Running;

namespace Harness.Tests.Running;

/// <summary>The SLO search against simulated systems whose capacity is known.</summary>
public class PeakRateSearchTests
{
    [Theory]
    [InlineData(10.0, 137.0)]
    [InlineData(500.0, 137.0)]
    [InlineData(137.0, 137.0)]
    [InlineData(1.0, 3.3)]
    public void Finds_the_capacity_within_the_precision(double start, double capacity)
    {
        PeakRateSearch.Result r = PeakRateSearch.Find(start, rate => rate <= capacity, precision: 0.05, maxRuns: 20);

        Assert.True(r.Converged);
        Assert.NotNull(r.Peak);
        Assert.InRange(r.Peak.Value, capacity / 1.05, capacity);
        Assert.True(r.LowestFailing > capacity);
        Assert.True((r.LowestFailing!.Value - r.Peak.Value) / r.Peak.Value <= 0.05);
    }

    [Fact]
    public void Brackets_by_doubling_then_bisects()
    {
        PeakRateSearch.Result r = PeakRateSearch.Find(10, rate => rate <= 50, precision: 0.1, maxRuns: 20);

        // 40 passes, 80 fails; bisection: 60 fails, 50 passes, 55 fails; (55 - 50) / 50 = 10%: done.
        Assert.Equal([10.0, 20, 40, 80, 60, 50, 55], r.Evaluations.Select(e => e.Rate));
        Assert.Equal(50, r.Peak);
        Assert.Equal(55, r.LowestFailing);
    }

    [Fact]
    public void Reports_no_peak_when_nothing_passes_within_the_budget()
    {
        PeakRateSearch.Result r = PeakRateSearch.Find(100, _ => false, maxRuns: 5);

        Assert.Null(r.Peak);
        Assert.False(r.Converged);
        Assert.Equal(5, r.Evaluations.Count);
        Assert.Equal(6.25, r.Evaluations[^1].Rate);
    }

    [Fact]
    public void Stops_at_the_budget_and_says_it_did_not_converge()
    {
        PeakRateSearch.Result r = PeakRateSearch.Find(1, rate => rate <= 1000, precision: 0.001, maxRuns: 6);

        Assert.Equal(6, r.Evaluations.Count);
        Assert.False(r.Converged);
        Assert.Equal(32, r.Peak);
        Assert.Null(r.LowestFailing);
    }

    [Fact]
    public void A_noisy_system_still_ends_with_a_passing_peak_below_a_failing_rate()
    {
        var rng = new Random(3);
        PeakRateSearch.Result r = PeakRateSearch.Find(20, rate => rate <= 100 * (1 + 0.05 * (rng.NextDouble() - 0.5)), precision: 0.02, maxRuns: 30);

        Assert.True(r.Evaluations.Single(e => e.Rate == r.Peak).Passed);
        Assert.False(r.Evaluations.Single(e => e.Rate == r.LowestFailing).Passed);
        Assert.InRange(r.Peak!.Value, 90, 103);
    }
}
