namespace Harness.Measurement;

/// <summary>Everything one worker records during the measured phase; merged after the run.</summary>
public sealed class WorkerRecorder
{
    public WorkerRecorder(long frequency)
    {
        Latency = new SampleRecorder(frequency);
        TimeToFirstToken = new SampleRecorder(frequency);
        TimePerOutputToken = new SampleRecorder(frequency);
        InterTokenLatency = new SampleRecorder(frequency);
    }

    /// <summary>End minus scheduled send, for requests that ended ok.</summary>
    public SampleRecorder Latency { get; }

    public SampleRecorder TimeToFirstToken { get; }

    /// <summary>Per request: (end - first token) / (token steps - 1), in ticks.</summary>
    public SampleRecorder TimePerOutputToken { get; }

    public SampleRecorder InterTokenLatency { get; }

    private long _ok, _error, _timeout, _cancelled;

    /// <summary>Requests this worker ended, by outcome.</summary>
    public RequestCounts Outcomes => new(_ok, _error, _timeout, _cancelled);

    public long InputUnits { get; set; }

    public long OutputUnits { get; set; }

    /// <summary>Ok requests within every per-request SLO limit.</summary>
    public long SloMet { get; set; }

    /// <summary>Output units of the requests counted in <see cref="SloMet"/> (token goodput's numerator).</summary>
    public long SloMetOutputUnits { get; set; }

    /// <summary>Completion time of the last request this worker finished.</summary>
    public long LastEndTimestamp { get; set; }

    public ErrorLog Errors { get; } = new();

    public void Count(RequestOutcome outcome)
    {
        switch (outcome)
        {
            case RequestOutcome.Ok: _ok++; break;
            case RequestOutcome.Error: _error++; break;
            case RequestOutcome.Timeout: _timeout++; break;
            default: _cancelled++; break;
        }
    }
}

/// <summary>Distinct error messages with counts; bounded so a failing run cannot eat memory.</summary>
public sealed class ErrorLog
{
    private const int MaxDistinct = 20;
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);

    public long Dropped { get; private set; }

    public IReadOnlyDictionary<string, long> Counts => _counts;

    public void Add(string message, long count = 1)
    {
        if (_counts.TryGetValue(message, out long n))
        {
            _counts[message] = n + count;
        }
        else if (_counts.Count < MaxDistinct)
        {
            _counts[message] = count;
        }
        else
        {
            Dropped += count;
        }
    }

    public void AddAll(ErrorLog other)
    {
        foreach ((string message, long count) in other._counts)
        {
            Add(message, count);
        }

        Dropped += other.Dropped;
    }
}
