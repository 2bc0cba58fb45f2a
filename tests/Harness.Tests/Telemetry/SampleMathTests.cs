using Harness.Telemetry;

namespace Harness.Tests.Telemetry;

public class SampleMathTests
{
    // Ticks are milliseconds (frequency 1000).
    private static readonly long[] T = [0, 100, 200, 300, 400];

    [Fact]
    public void Weighted_mean_weighs_each_sample_by_the_part_of_the_window_its_interval_covers()
    {
        double[] v = [double.NaN, 10, 20, 30, 40];

        // Window 150..300: half of sample 2's interval (weight 50) and all of sample 3's (weight 100).
        Assert.Equal((20 * 50 + 30 * 100) / 150.0, SampleMath.WeightedMean(T, v, 150, 300)!.Value, 9);
    }

    [Fact]
    public void Weighted_mean_is_null_when_no_value_covers_the_window()
    {
        Assert.Null(SampleMath.WeightedMean(T, [1, double.NaN, double.NaN, double.NaN, double.NaN], 0, 400));
    }

    [Fact]
    public void Counter_delta_interpolates_the_counter_at_both_edges()
    {
        double[] counter = [1000, 1010, 1030, 1060, 1100];

        // At 50: 1005; at 350: 1080.
        Assert.Equal(75, SampleMath.CounterDelta(T, counter, 50, 350)!.Value, 9);
    }

    [Fact]
    public void Counter_delta_needs_readings_on_both_sides_of_each_edge()
    {
        double[] counter = [1000, 1010, 1030, 1060, 1100];

        Assert.Null(SampleMath.CounterDelta(T, counter, 50, 450));
        Assert.Null(SampleMath.CounterDelta(T, [double.NaN, 1010, 1030, 1060, 1100], 50, 350));
    }

    [Fact]
    public void Integral_of_constant_power_is_power_times_window()
    {
        double[] watts = [200, 200, 200, 200, 200];

        Assert.Equal(200 * 0.25, SampleMath.Integral(T, watts, 50, 300, 1000)!.Value, 9);
    }

    [Fact]
    public void Integral_of_a_ramp_is_its_trapezoid()
    {
        double[] watts = [0, 100, 200, 300, 400]; // P(t) = t W with t in ms

        // Integral from 50 ms to 350 ms of t dt, in W*s: (0.35^2 - 0.05^2) / 2 * 1000.
        Assert.Equal((0.35 * 0.35 - 0.05 * 0.05) / 2 * 1000, SampleMath.Integral(T, watts, 50, 350, 1000)!.Value, 9);
    }

    [Fact]
    public void Time_where_counts_only_the_flagged_intervals_inside_the_window()
    {
        bool[] flagged = [true, false, true, true, false];

        Assert.Equal(50 + 100, SampleMath.TimeWhere(T, flagged, 150, 400));
    }

    [Fact]
    public void Longest_gap_includes_the_stretches_before_the_first_and_after_the_last_reading()
    {
        Assert.Equal(100, SampleMath.LongestGap(T, 0, 400));
        Assert.Equal(250, SampleMath.LongestGap([0, 100, 350, 400], 0, 400));
        Assert.Equal(150, SampleMath.LongestGap([100, 150, 250], 0, 400)); // nothing after 250
        Assert.Equal(400, SampleMath.LongestGap([], 0, 400));
    }

    [Fact]
    public void Downsample_keeps_at_most_the_requested_points_and_the_weighted_means()
    {
        long[] t = Enumerable.Range(0, 1001).Select(i => (long)i * 10).ToArray();
        double[] v = t.Select(x => (double)(x / 10 % 2)).ToArray(); // 0,1,0,1...

        (double[] seconds, double?[][] cols) = SampleMath.Downsample(t, [v], 0, 10_000, 1000, 100);

        Assert.Equal(100, seconds.Length);
        Assert.All(cols[0], x => Assert.Equal(0.5, x!.Value, 9));
        Assert.Equal(10.0, seconds[^1]);
    }

    [Theory]
    [InlineData(123.456789, 123.5)]
    [InlineData(0.000123456, 0.0001235)]
    [InlineData(98_765_432.1, 98_765_432)]
    public void Round_keeps_four_significant_digits_for_small_numbers(double x, double expected)
    {
        Assert.Equal(expected, SampleMath.Round(x), 12);
    }
}
