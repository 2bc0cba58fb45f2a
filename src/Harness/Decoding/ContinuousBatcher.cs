namespace Harness.Decoding;

/// <summary>
/// Continuous batching over a step-level decoder, as a state machine without threads or clocks of
/// its own: requests wait in one FIFO queue; between iterations, waiting requests join the running
/// batch (each in a free slot, after a short window, within a prefill-token budget) while the others
/// decode, and finished or cancelled ones leave and free their slots. With a decoder that cannot
/// take sequences into a running batch (or <see cref="LlmBatching.Static"/>), requests join only when
/// none runs. Its driver (a device thread, or a simulated timeline) calls <see cref="Next"/> when
/// the device is idle, runs the iteration it returns on the decoder, and reports it with
/// <see cref="Done"/>; every call comes from one thread at a time. Events go to each request's
/// <see cref="ILlmStream"/> once the batcher's own state is settled, so a stream may submit again
/// from inside a callback.
/// </summary>
public sealed class ContinuousBatcher
{
    private readonly IStepDecoder _decoder;
    private readonly BatchingOptions _options;
    private readonly long _windowTicks;
    private readonly LinkedList<Entry> _waiting = new();
    private readonly Dictionary<LlmRequest, Entry> _entries = new(ReferenceEqualityComparer.Instance);
    private readonly PriorityQueue<int, int> _freeSlots = new();
    private readonly List<Entry> _runningEntries = new();
    private readonly List<DecodeSequence> _running = new();
    private readonly List<Entry> _joiningEntries = new();
    private readonly List<DecodeSequence> _joining = new();
    private readonly List<Entry> _finished = new();
    private readonly List<Entry> _ran = new();
    private readonly List<DecodeSequence> _abandoned = new();
    private Exception? _failure;

    /// <param name="frequency">Ticks per second of the timestamps the driver passes.</param>
    public ContinuousBatcher(IStepDecoder decoder, BatchingOptions options, long frequency)
    {
        if (options.MaxBatch < 1 || options.MaxPrefillTokens < 1 || options.Window < TimeSpan.Zero)
        {
            throw HarnessException.BadInput($"The LLM batch ({options.MaxBatch}) and prefill tokens per iteration ({options.MaxPrefillTokens}) must be at least 1, and the batch window must not be negative.");
        }

        _decoder = decoder;
        _options = options;
        _windowTicks = (long)(options.Window.TotalSeconds * frequency);
        MaxBatch = Math.Min(options.MaxBatch, decoder.Slots);
        Batching = options.Batching == LlmBatching.Continuous && decoder.SupportsJoining ? LlmBatching.Continuous : LlmBatching.Static;
        for (int slot = 0; slot < MaxBatch; slot++)
        {
            _freeSlots.Enqueue(slot, slot);
        }
    }

    /// <summary>Batch slots in use at most: the smaller of the options' and the decoder's.</summary>
    public int MaxBatch { get; }

    /// <summary>Continuous only when asked for and the decoder takes sequences into a running batch.</summary>
    public LlmBatching Batching { get; }

    public IDeviceObserver? Observer { get; set; }

    /// <summary>An iteration was handed out by <see cref="Next"/> and is not yet <see cref="Done"/>.</summary>
    public bool Busy { get; private set; }

    /// <summary>When a waiting request's window ends (call <see cref="Next"/> then); null when nothing waits for time.</summary>
    public long? NextTimer { get; private set; }

    /// <summary>The sequences of the current iteration that prefill.</summary>
    public IReadOnlyList<DecodeSequence> Joining => _joining;

    /// <summary>The sequences of the current iteration that decode one token.</summary>
    public IReadOnlyList<DecodeSequence> Running => _running;

    public int Waiting => _waiting.Count;

    public int FreeSlots => _freeSlots.Count;

    /// <summary>Requests in the batch: running, or joining in the iteration under way.</summary>
    public int InBatch => _running.Count + _joining.Count;

    public void Submit(LlmRequest request, ILlmStream stream, long now)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(request.PromptTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.MaxNewTokens, 1);
        if (_failure is not null)
        {
            stream.Failed(request, _failure);
            return;
        }

        var entry = new Entry(request, stream, now);
        if (!_entries.TryAdd(request, entry))
        {
            throw new InvalidOperationException("the request was submitted twice");
        }

        entry.Node = _waiting.AddLast(entry);
    }

    /// <summary>
    /// Starts the next iteration when the device is idle and there is work: admits waiting requests
    /// (when they fill the free slots or the first has waited its window), then hands out the
    /// joining and running sequences. False when there is nothing to run yet (see <see cref="NextTimer"/>).
    /// </summary>
    public bool Next(long now)
    {
        NextTimer = null;
        if (Busy || _failure is not null)
        {
            return false;
        }

        int free = Batching == LlmBatching.Continuous ? MaxBatch - _running.Count : (_running.Count == 0 ? MaxBatch : 0);
        if (_waiting.Count > 0 && free > 0)
        {
            long due = _waiting.First!.Value.SubmitTimestamp + _windowTicks;
            if (_waiting.Count >= free || now >= due)
            {
                int budget = _options.MaxPrefillTokens;
                while (_joining.Count < free && _waiting.First is { } first && (_joining.Count == 0 || first.Value.Request.PromptTokens <= budget))
                {
                    Entry e = first.Value;
                    _waiting.RemoveFirst();
                    e.Node = null;
                    e.Sequence = new DecodeSequence(_freeSlots.Dequeue(), e.Request.PromptTokens, e.Request.MaxNewTokens, e.Request.PromptIds, e.Request.Sampling);
                    budget -= e.Request.PromptTokens;
                    _joiningEntries.Add(e);
                    _joining.Add(e.Sequence);
                }
            }
            else
            {
                NextTimer = due;
            }
        }

        if (_joining.Count == 0 && _running.Count == 0)
        {
            return false;
        }

        Busy = true;
        Observer?.IterationStarted(_joining.Count + _running.Count, now);
        foreach (Entry e in _joiningEntries)
        {
            e.Stream.Admitted(e.Request, now);
        }

        return true;
    }

    /// <summary>
    /// The iteration ran from <paramref name="start"/> to <paramref name="end"/>: every sequence has
    /// its new token; finished and cancelled requests leave and free their slots, and the joiners run on.
    /// </summary>
    public void Done(long start, long end)
    {
        if (!Busy)
        {
            throw new InvalidOperationException("an iteration ended that was never started");
        }

        int decoded = _running.Count;
        int prefillTokens = 0;
        foreach (DecodeSequence s in _joining)
        {
            prefillTokens += s.PromptTokens;
        }

        Observer?.IterationDone(_joining.Count, decoded, prefillTokens, start, end);
        _ran.AddRange(_runningEntries);
        _ran.AddRange(_joiningEntries);
        for (int i = _running.Count - 1; i >= 0; i--)
        {
            Entry e = _runningEntries[i];
            if (e.Sequence!.Done || e.CancelRequested || Ended(e))
            {
                _finished.Add(e);
                _runningEntries.RemoveAt(i);
                _running.RemoveAt(i);
            }
        }

        foreach (Entry e in _joiningEntries)
        {
            if (e.Sequence!.Done || e.CancelRequested || Ended(e))
            {
                _finished.Add(e);
            }
            else
            {
                _runningEntries.Add(e);
                _running.Add(e.Sequence);
            }
        }

        foreach (Entry e in _finished)
        {
            Leave(e);
        }

        _joiningEntries.Clear();
        _joining.Clear();
        Busy = false;

        // State settled: now the streams, which may submit or cancel. Tokens first, then who left.
        foreach (Entry e in _ran)
        {
            if (!e.CancelRequested)
            {
                e.Stream.Token(e.Request, e.Sequence!.LastToken, e.Sequence.LastLogprobs, end);
            }
        }

        foreach (Entry e in _finished)
        {
            LlmCompletion how = e.CancelRequested ? LlmCompletion.Cancelled : e.Sequence!.Done ? LlmCompletion.Finished : LlmCompletion.EndToken;
            e.Stream.Completed(e.Request, how, end);
        }

        _ran.Clear();
        _finished.Clear();
    }

    /// <summary>Cancels a request: it leaves now when waiting or between iterations, else at the end of the running one.</summary>
    public void Cancel(LlmRequest request, long now)
    {
        if (!_entries.TryGetValue(request, out Entry? e) || e.CancelRequested)
        {
            return;
        }

        e.CancelRequested = true;
        if (e.Node is not null)
        {
            _waiting.Remove(e.Node);
            e.Node = null;
            _entries.Remove(request);
            e.Stream.Completed(request, LlmCompletion.Cancelled, now);
            return;
        }

        if (!Busy)
        {
            int i = _runningEntries.IndexOf(e);
            _runningEntries.RemoveAt(i);
            _running.RemoveAt(i);
            Leave(e);
            e.Stream.Completed(request, LlmCompletion.Cancelled, now);
        }
    }

    /// <summary>The device failed: every request queued or running fails with <paramref name="error"/>, and so will any submitted later.</summary>
    public void Fail(Exception error)
    {
        _failure = error;
        _abandoned.AddRange(_running);
        _abandoned.AddRange(_joining);
        var all = _entries.Values.ToList();
        _entries.Clear();
        _waiting.Clear();
        _runningEntries.Clear();
        _running.Clear();
        _joiningEntries.Clear();
        _joining.Clear();
        Busy = false;
        NextTimer = null;
        foreach (Entry e in all)
        {
            e.Stream.Failed(e.Request, error);
        }
    }

    /// <summary>
    /// The endpoint closes (its driver stopped): every sequence still in the batch, or left there by a
    /// failed iteration, is released from the decoder, so that a decoder serving several endpoints one
    /// after another (the points of a sweep) starts the next one empty.
    /// </summary>
    public void ReleaseAll()
    {
        foreach (DecodeSequence s in _running.Concat(_joining).Concat(_abandoned))
        {
            _decoder.Release(s);
        }

        _abandoned.Clear();
    }

    /// <summary>The sequence generated one of its request's end tokens, past its minimum.</summary>
    private static bool Ended(Entry e) =>
        !e.Request.EndTokens.IsEmpty && e.Sequence!.Produced >= e.Request.MinNewTokens && e.Request.EndTokens.Span.Contains(e.Sequence.LastToken);

    private void Leave(Entry e)
    {
        _entries.Remove(e.Request);
        _freeSlots.Enqueue(e.Sequence!.Slot, e.Sequence.Slot);
        _decoder.Release(e.Sequence);
    }

    private sealed class Entry(LlmRequest request, ILlmStream stream, long submitted)
    {
        public LlmRequest Request { get; } = request;

        public ILlmStream Stream { get; } = stream;

        public long SubmitTimestamp { get; } = submitted;

        public LinkedListNode<Entry>? Node { get; set; }

        public DecodeSequence? Sequence { get; set; }

        public bool CancelRequested { get; set; }
    }
}
