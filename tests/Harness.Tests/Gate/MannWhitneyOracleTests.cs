using Harness.Gate;
using Perfolizer.Mathematics.SignificanceTesting.Base;
using Perfolizer.Metrology;
using Pragmastat.Algorithms;
using MannWhitneyClassicExactCdf = Perfolizer.Mathematics.SignificanceTesting.MannWhitney.MannWhitneyClassicExactCdf;
using MannWhitneyResult = Perfolizer.Mathematics.SignificanceTesting.MannWhitney.MannWhitneyResult;
using MannWhitneyStrategy = Perfolizer.Mathematics.SignificanceTesting.MannWhitney.MannWhitneyStrategy;
using PerfolizerMannWhitney = Perfolizer.Mathematics.SignificanceTesting.MannWhitney.MannWhitneyTest;
using Sample = Pragmastat.Sample;

namespace Harness.Tests.Gate;

/// <summary>
/// Perfolizer (BenchmarkDotNet's statistics engine) as the oracle of the gate's own rank test and Moses interval,
/// which stay hand-written for the reasons in their doc comments. Its exact CDF is P(U &lt; u).
/// </summary>
public class MannWhitneyOracleTests
{
    [Fact]
    public void The_exact_p_values_are_Perfolizers_on_tie_free_samples()
    {
        var rng = new Random(21);
        for (int t = 0; t < 200; t++)
        {
            int n = 3 + rng.Next(10), m = 3 + rng.Next(10);
            double[] x = Enumerable.Range(0, n).Select(_ => rng.NextDouble()).ToArray();
            double[] y = Enumerable.Range(0, m).Select(_ => rng.NextDouble() + 0.2 * rng.NextDouble()).ToArray();

            MannWhitneyTest.Result ours = MannWhitneyTest.TestExact(x, y);
            int u = (int)ours.U;
            MannWhitneyResult theirs = PerfolizerMannWhitney.Instance.PerformStrategy(
                new Sample(x), new Sample(y), AlternativeHypothesis.Greater, Threshold.Zero, MannWhitneyStrategy.ClassicExact);

            // Perfolizer's "greater" is x greater than y: ours is "y tends to be smaller than x".
            Assert.Equal(theirs.PValue.Value, ours.PLess, 12);
            Assert.Equal(MannWhitneyClassicExactCdf.Instance.Cdf(n, m, u + 1), ours.PLess, 12);
            Assert.Equal(1 - MannWhitneyClassicExactCdf.Instance.Cdf(n, m, u), ours.PGreater, 12);
        }
    }

    [Theory]
    [InlineData(0.01)]
    [InlineData(0.025)]
    [InlineData(0.05)]
    [InlineData(0.1)]
    public void The_critical_rank_is_the_largest_k_with_Perfolizers_P_U_below_k_at_most_alpha(double alpha)
    {
        for (int n = 1; n <= 15; n++)
        {
            for (int m = 1; m <= 15; m++)
            {
                int k = 0;
                while (k <= n * m && MannWhitneyClassicExactCdf.Instance.Cdf(n, m, k + 1) <= alpha + 1e-12)
                {
                    k++;
                }

                int ours = MannWhitneyTest.CriticalRank(n, m, alpha);
                Assert.True(k == ours, $"n {n}, m {m}: Perfolizer {k}, ours {ours}");
            }
        }
    }

    [Fact]
    public void The_shift_and_the_Moses_bounds_are_Pragmastats_pairwise_differences()
    {
        var rng = new Random(22);
        for (int t = 0; t < 100; t++)
        {
            int n = 4 + rng.Next(20), m = 4 + rng.Next(20);
            double[] x = Enumerable.Range(0, n).Select(_ => Math.Log(10 + rng.NextDouble())).ToArray();
            double[] y = Enumerable.Range(0, m).Select(_ => Math.Log(10.5 + rng.NextDouble())).ToArray();

            HodgesLehmann.Estimate e = HodgesLehmann.Shift(x, y, 0.05);
            int k = MannWhitneyTest.CriticalRank(n, m, 0.05);
            long total = (long)n * m;
            double[] q = FastShift.Estimate(y, x, [0.5, (k - 1.0) / (total - 1), (total - k) / (total - 1.0)]);

            Assert.Equal(q[0], e.Shift, 12);
            Assert.Equal(q[1], e.Low!.Value, 9);
            Assert.Equal(q[2], e.High!.Value, 9);
        }
    }
}
