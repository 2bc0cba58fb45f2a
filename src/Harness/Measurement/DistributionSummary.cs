using HdrHistogram;

namespace Harness.Measurement;

/// <summary>Summary of one distribution of durations, in milliseconds (the result file's shape).</summary>
public sealed class DistributionSummary
{
    /// <summary>Tail percentiles every summary carries, with the names the result file uses.</summary>
    public static readonly IReadOnlyList<(string Name, double P)> Tails =
        [("p90", 0.90), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)];

    public long Count { get; init; }

    public double P50 { get; init; }

    public double P90 { get; init; }

    public double P95 { get; init; }

    public double P99 { get; init; }

    public double P999 { get; init; }

    public double Mean { get; init; }

    public double Stdev { get; init; }

    public double Min { get; init; }

    public double Max { get; init; }

    /// <summary>95% distribution-free confidence interval of the median; null under 6 samples.</summary>
    public double? MedianCiLow { get; init; }

    public double? MedianCiHigh { get; init; }

    /// <summary>"exact" (sorted raw samples) or "hdr" (histogram, 3 significant digits) past the raw store.</summary>
    public string Source { get; init; } = "exact";

    public double Get(string name) => name switch
    {
        "p50" => P50,
        "p90" => P90,
        "p95" => P95,
        "p99" => P99,
        "p999" => P999,
        "mean" => Mean,
        "min" => Min,
        "max" => Max,
        "stdev" => Stdev,
        _ => throw new ArgumentException($"unknown statistic '{name}'", nameof(name)),
    };

    /// <summary>Summarizes a recorder; null when it holds no sample.</summary>
    public static DistributionSummary? From(SampleRecorder recorder)
    {
        if (recorder.Count == 0)
        {
            return null;
        }

        double msPerTick = 1000.0 / recorder.Frequency;
        if (recorder.RawOverflowed)
        {
            var h = recorder.Histogram;
            return new DistributionSummary
            {
                Count = recorder.Count,
                P50 = h.GetValueAtPercentile(50) * msPerTick,
                P90 = h.GetValueAtPercentile(90) * msPerTick,
                P95 = h.GetValueAtPercentile(95) * msPerTick,
                P99 = h.GetValueAtPercentile(99) * msPerTick,
                P999 = h.GetValueAtPercentile(99.9) * msPerTick,
                Mean = h.GetMean() * msPerTick,
                Stdev = h.GetStdDeviation() * msPerTick,
                Min = h.GetValueAtPercentile(0) * msPerTick,
                Max = h.GetMaxValue() * msPerTick,
                Source = "hdr",
            };
        }

        long[] raw = recorder.ToArray();
        var ms = new double[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            ms[i] = raw[i] * msPerTick;
        }

        return FromMilliseconds(ms);
    }

    /// <summary>Summarizes samples already in milliseconds (sorts a copy).</summary>
    public static DistributionSummary FromMilliseconds(ReadOnlySpan<double> samples)
    {
        if (samples.Length == 0)
        {
            throw new ArgumentException("no samples", nameof(samples));
        }

        double[] sorted = samples.ToArray();
        Array.Sort(sorted);
        (double mean, double sd) = Statistics.MeanAndStdDev(sorted);
        var ci = Statistics.MedianConfidenceIndices(sorted.Length);
        return new DistributionSummary
        {
            Count = sorted.Length,
            P50 = Statistics.Percentile(sorted, 0.50),
            P90 = Statistics.Percentile(sorted, 0.90),
            P95 = Statistics.Percentile(sorted, 0.95),
            P99 = Statistics.Percentile(sorted, 0.99),
            P999 = Statistics.Percentile(sorted, 0.999),
            Mean = mean,
            Stdev = sd,
            Min = sorted[0],
            Max = sorted[^1],
            MedianCiLow = ci is { } c ? sorted[c.Lower] : null,
            MedianCiHigh = ci is { } d ? sorted[d.Upper] : null,
        };
    }
}
