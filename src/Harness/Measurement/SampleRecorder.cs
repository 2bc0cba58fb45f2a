using HdrHistogram;
using HdrHistogram.Iteration;

namespace Harness.Measurement;

/// <summary>
/// Records durations (in clock ticks) without allocating per sample: raw values go to preallocated
/// chunks (exact nearest-rank percentiles and per-request samples for the CI gate), and to an HDR
/// histogram (bounded memory, used once the raw store is full).
/// </summary>
public sealed class SampleRecorder
{
    private const int ChunkSize = 16_384;

    /// <summary>Beyond this many raw samples, percentiles come from the HDR histogram instead.</summary>
    public const int DefaultRawCapacity = 4_000_000;

    private readonly List<long[]> _chunks = new();
    private readonly int _rawCapacity;
    private long[] _current;
    private int _inCurrent;

    public SampleRecorder(long frequency, int rawCapacity = DefaultRawCapacity)
    {
        Frequency = frequency;
        _rawCapacity = rawCapacity;
        _current = new long[ChunkSize];
        _chunks.Add(_current);
        // One tick to one hour at three significant digits: every latency the harness can see.
        Histogram = new LongHistogram(Math.Max(2, frequency * 3600), 3);
    }

    public long Frequency { get; }

    public LongHistogram Histogram { get; }

    public long Count { get; private set; }

    /// <summary>Raw samples kept; equals <see cref="Count"/> unless the raw store overflowed.</summary>
    public long RawCount { get; private set; }

    public bool RawOverflowed => RawCount < Count;

    public void Record(long ticks)
    {
        if (ticks < 0)
        {
            ticks = 0;
        }

        Count++;
        Histogram.RecordValue(Math.Min(ticks, Histogram.HighestTrackableValue));
        if (RawCount >= _rawCapacity)
        {
            return;
        }

        if (_inCurrent == ChunkSize)
        {
            // One allocation per 16k samples, amortized to nothing per sample.
            _current = new long[ChunkSize];
            _chunks.Add(_current);
            _inCurrent = 0;
        }

        _current[_inCurrent++] = ticks;
        RawCount++;
    }

    /// <summary>Copies the raw samples (in recording order) into a new array.</summary>
    public long[] ToArray()
    {
        var all = new long[RawCount];
        long copied = 0;
        foreach (long[] chunk in _chunks)
        {
            int n = (int)Math.Min(chunk.Length, RawCount - copied);
            Array.Copy(chunk, 0, all, copied, n);
            copied += n;
            if (copied == RawCount)
            {
                break;
            }
        }

        return all;
    }

    /// <summary>
    /// Nearest-rank p-quantile in ticks (exact from the raw samples, from the histogram past the raw
    /// store); for SLO checks at any percentile, not only the summary's fixed ones.
    /// </summary>
    public long ValueAtPercentile(double p)
    {
        if (Count == 0)
        {
            throw new InvalidOperationException("no samples recorded");
        }

        if (RawOverflowed)
        {
            return Histogram.GetValueAtPercentile(p * 100);
        }

        long[] sorted = ToArray();
        Array.Sort(sorted);
        return sorted[Statistics.NearestRankIndex(sorted.Length, p)];
    }

    /// <summary>How many samples exceed <paramref name="ticks"/> (the "misses" of a latency bound).</summary>
    public long CountAbove(long ticks)
    {
        if (RawOverflowed)
        {
            long above = 0;
            foreach (HistogramIterationValue v in Histogram.RecordedValues())
            {
                if (Histogram.LowestEquivalentValue(v.ValueIteratedTo) > ticks)
                {
                    above += v.CountAtValueIteratedTo;
                }
            }

            return above;
        }

        long count = 0, seen = 0;
        foreach (long[] chunk in _chunks)
        {
            int n = (int)Math.Min(chunk.Length, RawCount - seen);
            for (int i = 0; i < n; i++)
            {
                if (chunk[i] > ticks)
                {
                    count++;
                }
            }

            seen += n;
        }

        return count;
    }

    /// <summary>Merges several workers' recorders into one, after the run.</summary>
    public static SampleRecorder Merge(long frequency, IEnumerable<SampleRecorder> parts)
    {
        var merged = new SampleRecorder(frequency, int.MaxValue);
        foreach (SampleRecorder part in parts)
        {
            foreach (long v in part.ToArray())
            {
                merged.Record(v);
            }

            // Samples past the raw store exist only in the histogram; keep the counts honest.
            long extra = part.Count - part.RawCount;
            if (extra > 0)
            {
                merged.Count += extra;
                merged.Histogram.Add(HistogramOnlyRemainder(part));
            }
        }

        return merged;
    }

    private static HistogramBase HistogramOnlyRemainder(SampleRecorder part)
    {
        // The part's histogram holds every sample; subtract the raw ones already re-recorded.
        var remainder = (LongHistogram)part.Histogram.Copy();
        foreach (long v in part.ToArray())
        {
            remainder.RecordValueWithCount(Math.Min(v, remainder.HighestTrackableValue), -1);
        }

        return remainder;
    }
}
