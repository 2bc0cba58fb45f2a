using Harness.Measurement;

namespace Harness.Engine;

/// <summary>
/// One request as the workload sees it. The engine keeps one instance per worker and reuses it, so
/// recording a request allocates nothing.
/// </summary>
public sealed class RequestContext
{
    private readonly IClock _clock;
    private readonly WorkerRecorder? _recorder;
    private long _lastTokenTimestamp;

    internal RequestContext(IClock clock, int workerIndex, WorkerRecorder? recorder)
    {
        _clock = clock;
        WorkerIndex = workerIndex;
        _recorder = recorder;
    }

    /// <summary>
    /// A context for calling a prepared workload outside the engine, e.g. an agent tool that embeds
    /// text with the MiniLM workload: nothing it records is kept. Reuse one per worker slot.
    /// </summary>
    public static RequestContext Detached(int workerIndex) => new(StopwatchClock.Instance, workerIndex, null);

    /// <summary>Starts the next request on a <see cref="Detached"/> context.</summary>
    public void BeginDetached(long requestIndex, WorkloadDescription description, CancellationToken token)
    {
        long now = _clock.Timestamp;
        Begin(requestIndex, now, now, description, token);
    }

    /// <summary>Which worker runs this request (0..Workers-1): an index for per-worker buffers.</summary>
    public int WorkerIndex { get; }

    /// <summary>Sequence number of the request within its phase, across all workers.</summary>
    public long RequestIndex { get; private set; }

    /// <summary>Which entry of the scenario's own schedule this request is (a replayed trace's record); -1 when the scenario has none.</summary>
    public int Item { get; private set; } = -1;

    /// <summary>Set when the run is cancelled (Ctrl-C); long requests should observe it.</summary>
    public CancellationToken CancellationToken { get; private set; }

    /// <summary>Input work units of this request; defaults to the workload's description.</summary>
    public int InputUnits { get; set; }

    /// <summary>Output work units of this request; defaults to the workload's description.</summary>
    public int OutputUnits { get; set; }

    /// <summary>When the request was due: equals <see cref="StartTimestamp"/> in closed-loop scenarios.</summary>
    public long ScheduledTimestamp { get; private set; }

    public long StartTimestamp { get; private set; }

    internal long FirstTokenTimestamp { get; private set; }

    internal int TokenCount { get; private set; }

    /// <summary>
    /// Marks that <paramref name="tokens"/> output tokens (one per sequence of a batch step) reached
    /// the host now. The first call fixes the time to first token; later calls record inter-token gaps.
    /// </summary>
    public void MarkToken(int tokens = 1)
    {
        long now = _clock.Timestamp;
        if (TokenCount == 0)
        {
            FirstTokenTimestamp = now;
        }
        else
        {
            _recorder?.InterTokenLatency.Record(now - _lastTokenTimestamp);
        }

        _lastTokenTimestamp = now;
        TokenCount += tokens > 0 ? 1 : 0;
        TokenUnits += tokens;
    }

    /// <summary>
    /// Marks <paramref name="tokens"/> tokens that reached the host together at <paramref name="timestamp"/>
    /// (one streamed event, stamped with the run's clock where it was read). The first call fixes the
    /// time to first token; at a later call the gap since the previous one is shared evenly by its
    /// tokens (one inter-token sample each), and every token counts for TPOT. Calls come in time order.
    /// </summary>
    public void MarkTokens(int tokens, long timestamp)
    {
        if (tokens <= 0)
        {
            return;
        }

        if (TokenCount == 0)
        {
            FirstTokenTimestamp = timestamp;
        }
        else if (_recorder is not null)
        {
            long share = (timestamp - _lastTokenTimestamp) / tokens;
            for (int i = 0; i < tokens; i++)
            {
                _recorder.InterTokenLatency.Record(share);
            }
        }

        _lastTokenTimestamp = timestamp;
        TokenCount += tokens;
        TokenUnits += tokens;
    }

    /// <summary>Sum of the tokens passed to <see cref="MarkToken"/>.</summary>
    internal long TokenUnits { get; private set; }

    internal void Begin(long requestIndex, long scheduled, long start, WorkloadDescription description, CancellationToken token, int item = -1)
    {
        RequestIndex = requestIndex;
        Item = item;
        ScheduledTimestamp = scheduled;
        StartTimestamp = start;
        CancellationToken = token;
        InputUnits = description.InputUnitsPerRequest;
        OutputUnits = description.OutputUnitsPerRequest;
        FirstTokenTimestamp = 0;
        TokenCount = 0;
        TokenUnits = 0;
        _lastTokenTimestamp = 0;
    }
}
