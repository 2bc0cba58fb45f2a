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
    [InlineData(3, 3, false)] // 1/20 exactly: not below 0.05
    [InlineData(3, 4, true)]
    [InlineData(5, 5, true)]
    public void The_smallest_possible_p_value_says_whether_alpha_is_reachable(int n, int m, bool reachable)
    {
        Assert.Equal(reachable, MannWhitneyTest.SmallestPossiblePValue(n, m) < 0.05);
    }

    [Fact]
    public void The_exact_null_distribution_counts_every_arrangement()
    {
        double[] counts = MannWhitneyTest.NullCounts(5, 5)!;

        Assert.Equal(26, counts.Length);
        Assert.Equal(252, counts.Sum());
        Assert.Equal([1, 1, 2, 3, 5, 7, 9, 11, 14, 16, 18, 19, 20], counts.Take(13));
        Assert.Equal(counts, counts.Reverse());
    }

    [Fact]
    public void The_exact_test_gives_the_counted_tail_where_the_normal_one_approximates()
    {
        MannWhitneyTest.Result exact = MannWhitneyTest.TestExact([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
        MannWhitneyTest.Result withTies = MannWhitneyTest.TestExact([1, 2, 2, 4], [2, 5, 6, 7]);

        Assert.Equal(1.0 / 252, exact.PGreater, 12);
        Assert.Equal(1, exact.PLess, 12);
        Assert.Equal(MannWhitneyTest.Test([1, 2, 2, 4], [2, 5, 6, 7]).PGreater, withTies.PGreater, 12); // ties: the normal approximation
    }

    [Theory]
    [InlineData(5, 5, 0.05, 5)]   // P(U <= 4) = 12/252 <= 0.05 < P(U <= 5) = 19/252
    [InlineData(4, 4, 0.05, 2)]   // P(U <= 1) = 2/70
    [InlineData(3, 3, 0.05, 1)]   // P(U = 0) = 1/20, exactly alpha: the smallest difference bounds a 95% interval
    [InlineData(2, 3, 0.05, 0)]   // P(U = 0) = 1/10: no one-sided 95% bound
    public void The_critical_rank_bounds_the_moses_interval(int n, int m, double alpha, int rank)
    {
        Assert.Equal(rank, MannWhitneyTest.CriticalRank(n, m, alpha));
    }
}
