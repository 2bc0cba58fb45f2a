using Harness.Gate;
using Harness.Testing;
using Perfolizer.Mathematics.Common;
using Perfolizer.Mathematics.QuantileEstimators;

namespace Harness.Tests.Gate;

public class BlockBootstrapTests
{
    [Fact]
    public void Blocks_widen_the_interval_of_an_autocorrelated_run_toward_the_spread_of_its_median()
    {
        // 200 runs of an AR(1) series (phi 0.9): the spread of their medians is the truth the run's own interval should match.
        var rng = new Random(11);
        double[] medians = new double[200];
        double[] one = [];
        for (int r = 0; r < medians.Length; r++)
        {
            double[] run = SyntheticResults.Runs(rng, 1, 10, runCv: 0, perRun: 2000, keepSamples: true)[0].Samples!.LatencyMs;
            medians[r] = Harness.Measurement.Statistics.Median(run);
            one = run;
        }

        Array.Sort(medians);
        double trueWidth = medians[189] - medians[9]; // 90% of the run medians
        (double lo, double hi) iid = BlockBootstrap.PercentileIntervals(one, [0.5], 1, 0.9, 400, 3)[0];
        (double lo, double hi) blocked = BlockBootstrap.PercentileIntervals(one, [0.5], 100, 0.9, 400, 3)[0];

        Assert.True(blocked.hi - blocked.lo > 2 * (iid.hi - iid.lo), $"blocked {blocked}, iid {iid}");
        Assert.InRange((blocked.hi - blocked.lo) / trueWidth, 0.4, 2.0);
        Assert.InRange((iid.hi - iid.lo) / trueWidth, 0, 0.45);
    }

    [Fact]
    public void The_block_is_a_second_of_one_workers_requests_and_at_least_the_cube_root()
    {
        Assert.Equal(100, BlockBootstrap.BlockLength(6000, 60, 1));
        Assert.Equal(25, BlockBootstrap.BlockLength(6000, 60, 4));
        Assert.Equal(19, BlockBootstrap.BlockLength(6000, 600, 1)); // cube root of 6000 is 18.2
    }

    [Fact]
    public void The_same_run_gives_the_same_interval()
    {
        double[] run = SyntheticResults.LogNormal(new Random(2), 500, 10, 0.2);

        Assert.Equal(BlockBootstrap.PercentileIntervals(run, [0.5, 0.9], 10, 0.9, 100, 7), BlockBootstrap.PercentileIntervals(run, [0.5, 0.9], 10, 0.9, 100, 7));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void With_blocks_of_one_request_the_median_interval_is_Perfolizers_Maritz_Jarrett_interval(int seed)
    {
        double[] run = SyntheticResults.LogNormal(new Random(seed), 2000, 10, 0.2);

        (double lo, double hi) = BlockBootstrap.PercentileIntervals(run, [0.5], 1, 0.9, 1000, 3)[0];
        ConfidenceInterval mj = HarrellDavisQuantileEstimator.Instance
            .QuantileConfidenceIntervalEstimator(new Pragmastat.Sample(run), Pragmastat.Probability.Of(0.5))
            .ConfidenceInterval(ConfidenceLevel.L90);

        // Measured on these runs: width ratios 0.96 to 1.06, midpoints apart by at most 8% of the width.
        double width = mj.Upper - mj.Lower;
        Assert.InRange((hi - lo) / width, 0.85, 1.15);
        Assert.InRange(Math.Abs((lo + hi) / 2 - (mj.Lower + mj.Upper) / 2) / width, 0, 0.15);
    }
}
