namespace Harness.Telemetry;

/// <summary>
/// Window arithmetic over timestamped samples (clock ticks, ascending; NaN marks a missing value).
/// Sample i stands for the interval (t[i-1], t[i]] that ends at it, as NVML's utilization and a
/// /proc/stat delta do; a sample's weight is how much of that interval lies inside the window. So
/// averages stay right when the sampler skipped a beat or older samples were thinned out.
/// </summary>
public static class SampleMath
{
    /// <summary>Ticks of sample i's interval inside [start, end]; 0 for the first sample.</summary>
    public static long Weight(ReadOnlySpan<long> t, int i, long start, long end)
    {
        if (i == 0)
        {
            return 0;
        }

        long lo = Math.Max(t[i - 1], start);
        long hi = Math.Min(t[i], end);
        return Math.Max(0, hi - lo);
    }

    /// <summary>Time-weighted mean of the values over the window; null when no value covers it.</summary>
    public static double? WeightedMean(ReadOnlySpan<long> t, ReadOnlySpan<double> v, long start, long end)
    {
        double sum = 0, weights = 0;
        for (int i = 1; i < t.Length; i++)
        {
            long w = Weight(t, i, start, end);
            if (w > 0 && !double.IsNaN(v[i]))
            {
                sum += v[i] * w;
                weights += w;
            }
        }

        return weights > 0 ? sum / weights : null;
    }

    /// <summary>Largest value among the samples whose interval overlaps the window.</summary>
    public static double? Max(ReadOnlySpan<long> t, ReadOnlySpan<double> v, long start, long end)
    {
        double? max = null;
        for (int i = 1; i < t.Length; i++)
        {
            if (Weight(t, i, start, end) > 0 && !double.IsNaN(v[i]) && (max is null || v[i] > max))
            {
                max = v[i];
            }
        }

        return max;
    }

    /// <summary>Ticks of the window covered by samples for which <paramref name="when"/> holds.</summary>
    public static long TimeWhere(ReadOnlySpan<long> t, ReadOnlySpan<bool> when, long start, long end)
    {
        long total = 0;
        for (int i = 1; i < t.Length; i++)
        {
            if (when[i])
            {
                total += Weight(t, i, start, end);
            }
        }

        return total;
    }

    /// <summary>
    /// Increase of a cumulative counter over the window, reading it at both edges by linear
    /// interpolation between the samples around each edge. Null unless counter readings bracket both edges.
    /// </summary>
    public static double? CounterDelta(ReadOnlySpan<long> t, ReadOnlySpan<double> counter, long start, long end)
    {
        double? a = ValueAt(t, counter, start);
        double? b = ValueAt(t, counter, end);
        return a is { } x && b is { } y ? y - x : null;
    }

    /// <summary>
    /// Integral of a rate (watts) over the window in value-seconds (joules), by the trapezoid rule,
    /// with the rate interpolated at the edges. Null unless readings bracket both edges.
    /// </summary>
    public static double? Integral(ReadOnlySpan<long> t, ReadOnlySpan<double> rate, long start, long end, long frequency)
    {
        if (ValueAt(t, rate, start) is not { } first || ValueAt(t, rate, end) is not { } last)
        {
            return null;
        }

        double sum = 0;
        long prevT = start;
        double prevV = first;
        for (int i = 0; i < t.Length; i++)
        {
            if (t[i] <= start || double.IsNaN(rate[i]))
            {
                continue;
            }

            if (t[i] >= end)
            {
                break;
            }

            sum += (rate[i] + prevV) / 2 * (t[i] - prevT);
            prevT = t[i];
            prevV = rate[i];
        }

        sum += (last + prevV) / 2 * (end - prevT);
        return sum / frequency;
    }

    /// <summary>The value at time <paramref name="at"/>, interpolated between the readings around it.</summary>
    public static double? ValueAt(ReadOnlySpan<long> t, ReadOnlySpan<double> v, long at)
    {
        int before = -1, after = -1;
        for (int i = 0; i < t.Length; i++)
        {
            if (double.IsNaN(v[i]))
            {
                continue;
            }

            if (t[i] <= at)
            {
                before = i;
            }

            if (t[i] >= at)
            {
                after = i;
                break;
            }
        }

        if (before < 0 || after < 0)
        {
            return null;
        }

        if (t[after] == t[before])
        {
            return v[after];
        }

        double f = (double)(at - t[before]) / (t[after] - t[before]);
        return v[before] + f * (v[after] - v[before]);
    }

    /// <summary>
    /// The longest stretch of the window without a sample, in ticks: from the window start to the first
    /// sample after it, between samples, and from the last sample to the window end. The whole window
    /// when no sample falls inside or brackets it.
    /// </summary>
    public static long LongestGap(ReadOnlySpan<long> t, long start, long end)
    {
        long longest = 0;
        long prev = long.MinValue;
        foreach (long x in t)
        {
            if (x <= start)
            {
                prev = start;
                continue;
            }

            long from = prev == long.MinValue ? start : prev;
            longest = Math.Max(longest, Math.Min(x, end) - from);
            prev = x;
            if (x >= end)
            {
                return longest;
            }
        }

        return Math.Max(longest, end - (prev == long.MinValue ? start : prev));
    }

    /// <summary>
    /// At most <paramref name="maxPoints"/> points of the samples covering the window, for charts: each
    /// point is the weighted mean of a run of consecutive samples, stamped in seconds from the window
    /// start at the run's last sample. Missing values become null.
    /// </summary>
    public static (double[] Seconds, double?[][] Columns) Downsample(
        ReadOnlySpan<long> t, IReadOnlyList<double[]> columns, long start, long end, long frequency, int maxPoints)
    {
        var inWindow = new List<int>();
        for (int i = 1; i < t.Length; i++)
        {
            if (Weight(t, i, start, end) > 0)
            {
                inWindow.Add(i);
            }
        }

        int per = Math.Max(1, (inWindow.Count + maxPoints - 1) / maxPoints);
        int points = (inWindow.Count + per - 1) / per;
        var seconds = new double[points];
        var outColumns = new double?[columns.Count][];
        for (int c = 0; c < columns.Count; c++)
        {
            outColumns[c] = new double?[points];
        }

        for (int p = 0; p < points; p++)
        {
            int from = p * per, to = Math.Min(inWindow.Count, from + per);
            int last = inWindow[to - 1];
            seconds[p] = Math.Round((double)(Math.Min(t[last], end) - start) / frequency, 3);
            for (int c = 0; c < columns.Count; c++)
            {
                double sum = 0, weights = 0;
                for (int k = from; k < to; k++)
                {
                    int i = inWindow[k];
                    double x = columns[c][i];
                    long w = Weight(t, i, start, end);
                    if (!double.IsNaN(x))
                    {
                        sum += x * w;
                        weights += w;
                    }
                }

                outColumns[c][p] = weights > 0 ? Round(sum / weights) : null;
            }
        }

        return (seconds, outColumns);
    }

    /// <summary>Four significant digits: enough for a chart, small in the file.</summary>
    public static double Round(double x)
    {
        if (x == 0 || double.IsNaN(x) || double.IsInfinity(x))
        {
            return x;
        }

        int digits = Math.Clamp(3 - (int)Math.Floor(Math.Log10(Math.Abs(x))), 0, 15);
        return Math.Round(x, digits);
    }
}
