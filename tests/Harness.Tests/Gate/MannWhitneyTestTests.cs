using Harness.Gate;

namespace Harness.Tests.Gate;

public class MannWhitneyTestTests
{
    // Reference values: U by counting pairs, the tie-corrected variance and the continuity-corrected
    // normal tail, computed independently with Python's math.erfc.
    [Fact]
    public void Complete_separation_matches_the_reference()
    {
        MannWhitneyTest.Result r = MannWhitneyTest.Test([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);

        Assert.Equal(25, r.U);
        Assert.Equal(0.00609289017767245, r.PGreater, 6);
        Assert.Equal(0.9966923245172357, r.PLess, 6);
    }

    [Fact]
    public void Ties_use_mid_ranks_and_the_tie_correction()
    {
        MannWhitneyTest.Result r = MannWhitneyTest.Test([1.1, 2.2, 2.2, 3.3, 4.4, 5.0], [2.2, 3.3, 3.3, 5.0, 6.1, 7.2, 8.0]);

        Assert.Equal(32.5, r.U);
        Assert.Equal(0.05577965272539109, r.PGreater, 6);
        Assert.Equal(0.9587074803213799, r.PLess, 6);
    }

    [Fact]
    public void U_equals_the_pair_count_and_the_test_is_antisymmetric()
    {
        var rng = new Random(4);
        double[] x = Enumerable.Range(0, 23).Select(_ => (double)rng.Next(10)).ToArray();
        double[] y = Enumerable.Range(0, 17).Select(_ => (double)rng.Next(12)).ToArray();
        double pairs = x.Sum(a => y.Sum(b => b > a ? 1 : b == a ? 0.5 : 0));

        MannWhitneyTest.Result xy = MannWhitneyTest.Test(x, y);
        MannWhitneyTest.Result yx = MannWhitneyTest.Test(y, x);

        Assert.Equal(pairs, xy.U);
        Assert.Equal(xy.PGreater, yx.PLess, 12);
        Assert.Equal(xy.PLess, yx.PGreater, 12);
    }

    [Fact]
    public void All_values_tied_give_no_evidence()
    {
        MannWhitneyTest.Result r = MannWhitneyTest.Test([3, 3, 3], [3, 3, 3, 3]);

        Assert.Equal(1, r.PGreater);
        Assert.Equal(1, r.PLess);
    }

    [Theory]
    [InlineData(2, 2, false)]
    [InlineData(2, 3, false)]
    [InlineData(3, 3, true)]
    [InlineData(5, 5, true)]
    public void The_smallest_possible_p_value_says_whether_alpha_is_reachable(int n, int m, bool reachable)
    {
        Assert.Equal(reachable, MannWhitneyTest.SmallestPossiblePValue(n, m) < 0.05);
    }
}
