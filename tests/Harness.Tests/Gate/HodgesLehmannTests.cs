using Harness.Gate;

namespace Harness.Tests.Gate;

public class HodgesLehmannTests
{
    [Fact]
    public void The_estimate_is_the_median_of_the_pairwise_differences_and_the_interval_their_order_statistics()
    {
        double[] x = [1, 2, 3, 4, 5], y = [3.5, 4.5, 5.5, 6.5, 7.5];

        HodgesLehmann.Estimate e = HodgesLehmann.Shift(x, y, 0.05);

        // Differences y - x run from -1.5 to 6.5 in steps of 1, 25 of them; the median is the 13th.
        Assert.Equal(2.5, e.Shift, 12);
        Assert.Equal(0.5, e.Low!.Value, 12);  // 5th smallest (critical rank 5)
        Assert.Equal(4.5, e.High!.Value, 12); // 5th largest
    }

    [Fact]
    public void The_interval_excludes_zero_exactly_when_the_exact_test_rejects()
    {
        var rng = new Random(5);
        for (int t = 0; t < 200; t++)
        {
            double[] x = Enumerable.Range(0, 5).Select(_ => rng.NextDouble()).ToArray();
            double[] y = Enumerable.Range(0, 5).Select(_ => rng.NextDouble() + 0.3).ToArray();

            bool rejects = MannWhitneyTest.TestExact(x, y).PGreater < 0.05;
            bool excludes = HodgesLehmann.Shift(x, y, 0.05).Low > 0;

            Assert.Equal(rejects, excludes);
        }
    }

    [Fact]
    public void Too_few_values_give_an_estimate_without_an_interval()
    {
        HodgesLehmann.Estimate e = HodgesLehmann.Shift([1, 2], [3], 0.05);

        Assert.Equal(1.5, e.Shift);
        Assert.Null(e.Low);
        Assert.Null(e.High);
    }
}
