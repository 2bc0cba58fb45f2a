using Harness.Measurement;

namespace Harness.Tests.Measurement;

public class SampleRecorderTests
{
    [Fact]
    public void Keeps_every_sample_across_chunk_boundaries_in_order()
    {
        var r = new SampleRecorder(1_000_000_000);
        for (long i = 0; i < 40_000; i++)
        {
            r.Record(i);
        }

        long[] all = r.ToArray();
        Assert.Equal(40_000, r.Count);
        Assert.Equal(Enumerable.Range(0, 40_000).Select(i => (long)i), all);
    }

    [Fact]
    public void Past_the_raw_store_the_summary_comes_from_the_histogram()
    {
        var r = new SampleRecorder(1_000_000_000, rawCapacity: 100);
        for (int i = 1; i <= 1000; i++)
        {
            r.Record(i * 1_000_000L); // 1..1000 ms
        }

        Assert.True(r.RawOverflowed);
        DistributionSummary s = DistributionSummary.From(r)!;
        Assert.Equal("hdr", s.Source);
        Assert.Equal(1000, s.Count);
        Assert.Equal(500, s.P50, 0); // 3 significant digits
        Assert.Equal(990, s.P99, 0);
    }

    [Fact]
    public void Merge_adds_workers_and_keeps_histogram_only_samples()
    {
        var a = new SampleRecorder(1_000_000_000);
        var b = new SampleRecorder(1_000_000_000, rawCapacity: 2);
        a.Record(1_000_000);
        b.Record(2_000_000);
        b.Record(3_000_000);
        b.Record(4_000_000);
        SampleRecorder m = SampleRecorder.Merge(1_000_000_000, [a, b]);
        Assert.Equal(4, m.Count);
        Assert.Equal(3, m.RawCount);
        Assert.Equal(4, m.Histogram.TotalCount);
    }

    [Fact]
    public void Summary_in_milliseconds_with_median_interval()
    {
        var r = new SampleRecorder(1_000);
        foreach (int ms in Enumerable.Range(1, 100))
        {
            r.Record(ms); // 1 tick = 1 ms at 1 kHz
        }

        DistributionSummary s = DistributionSummary.From(r)!;
        Assert.Equal(50, s.P50);
        Assert.Equal(90, s.P90);
        Assert.Equal(99, s.P99);
        Assert.Equal(100, s.P999);
        Assert.Equal(1, s.Min);
        Assert.Equal(100, s.Max);
        Assert.Equal(50.5, s.Mean, 9);
        Assert.True(s.MedianCiLow < 50 && s.MedianCiHigh > 50);
        Assert.Null(DistributionSummary.From(new SampleRecorder(1000)));
    }
}
