namespace Harness.Telemetry;

/// <summary>
/// Timestamped samples of one series, bounded: when full, every other older sample is dropped (the
/// newest is always kept), so a run of any length fits in fixed memory at a coarser resolution.
/// <see cref="SampleMath"/> weighs each sample by the interval it stands for, so thinning does not
/// bias averages. Not thread-safe: the owning source locks.
/// </summary>
public sealed class SampleBuffer<T>
    where T : struct
{
    /// <summary>One hour at 100 ms before the first thinning.</summary>
    public const int DefaultCapacity = 36_000;

    private readonly int _capacity;
    private long[] _timestamps;
    private T[] _values;

    public SampleBuffer(int capacity = DefaultCapacity)
    {
        if (capacity < 4)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "capacity must be at least 4");
        }

        _capacity = capacity;
        _timestamps = new long[Math.Min(capacity, 1024)];
        _values = new T[_timestamps.Length];
    }

    public int Count { get; private set; }

    /// <summary>Times the buffer was thinned out; 0 while every sample is kept.</summary>
    public int Thinnings { get; private set; }

    public ReadOnlySpan<long> Timestamps => _timestamps.AsSpan(0, Count);

    public ReadOnlySpan<T> Values => _values.AsSpan(0, Count);

    public void Add(long timestamp, in T value)
    {
        if (Count == _timestamps.Length)
        {
            if (Count < _capacity)
            {
                int size = Math.Min(_capacity, Count * 2);
                Array.Resize(ref _timestamps, size);
                Array.Resize(ref _values, size);
            }
            else
            {
                Thin();
            }
        }

        _timestamps[Count] = timestamp;
        _values[Count] = value;
        Count++;
    }

    /// <summary>Keeps samples 0, 2, 4...: the first stays, so the window's opening edge is never lost.</summary>
    private void Thin()
    {
        int kept = 0;
        for (int i = 0; i < Count; i += 2)
        {
            _timestamps[kept] = _timestamps[i];
            _values[kept] = _values[i];
            kept++;
        }

        Count = kept;
        Thinnings++;
    }
}
