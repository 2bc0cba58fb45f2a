namespace Harness.Agents.Llm;

/// <summary>
/// A real decoder that runs one fixed-shape batch at a time: batched prefill of a prompt, then one
/// decode step for every sequence. This is the shape of the decoder runners of the LLM workloads
/// (ONNX Runtime's OnnxDecoderRunner: <c>Prefill(prompt)</c>, <c>Step()</c>); the adapter that
/// wraps one lives with its backend.
/// </summary>
public interface IBatchDecoder : IDisposable
{
    int Batch { get; }

    int PromptTokens { get; }

    /// <summary>Prompt plus decoded tokens the cache holds.</summary>
    int MaxContext { get; }

    /// <summary>Runs the prompt of every sequence; the first tokens are on the host when it returns.</summary>
    void Prefill();

    /// <summary>Decodes one more token for every sequence of the batch.</summary>
    void Step();
}

/// <summary>Makes decoders of a given shape for one model on one device.</summary>
public interface IBatchDecoderFactory : IDisposable
{
    /// <summary>e.g. "onnx:cpu gpt2-124m fp32".</summary>
    string Name { get; }

    int MaxBatch { get; }

    /// <summary>The model's longest sequence (its max positions).</summary>
    int MaxPositions { get; }

    IReadOnlyDictionary<string, object?> Details { get; }

    IBatchDecoder Create(int batch, int promptTokens, int maxContext);
}

/// <summary>
/// Drives a fixed-shape decoder as the agents' LLM device. Each admitted group of steps becomes one
/// batch: shapes are rounded up (batch to a power of two, prompt and decode lengths to multiples of
/// 64) so that few distinct decoders are built, and the last few are kept for reuse. Sequences that
/// finish early keep their slot until the whole batch ends, as in static batching; the scheduler
/// admits new steps only between batches (<see cref="SupportsJoining"/> is false). Only each step's new
/// tokens are prefilled (a prefix cache is assumed); attention over the earlier context is not run.
/// </summary>
public sealed class BatchDecoderExecutor : ILlmStepExecutor
{
    private const int LengthQuantum = 64;
    private const int CachedDecoders = 4;

    private readonly IBatchDecoderFactory _factory;
    private readonly LinkedList<IBatchDecoder> _cache = new();
    private IBatchDecoder? _current;

    public BatchDecoderExecutor(IBatchDecoderFactory factory)
    {
        _factory = factory;
        var details = new Dictionary<string, object?>(factory.Details)
        {
            ["llm_backend"] = factory.Name,
            ["llm_batching"] = "static: fixed-shape decoder; batch rounded to a power of two, lengths to multiples of 64",
        };
        Details = details;
    }

    public string Name => _factory.Name;

    public int MaxBatch => _factory.MaxBatch;

    public bool SupportsJoining => false;

    public IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary>Decoders built so far (for tests and the result).</summary>
    public int DecodersBuilt { get; private set; }

    public void Iterate(IReadOnlyList<LlmSequence> joining, IReadOnlyList<LlmSequence> running, CancellationToken cancellationToken)
    {
        if (joining.Count == 0)
        {
            (_current ?? throw new InvalidOperationException("decode before prefill")).Step();
            return;
        }

        if (running.Count > 0)
        {
            throw new InvalidOperationException("a fixed-shape decoder cannot take new sequences while others decode");
        }


        int batch = (int)Math.Min(MaxBatch, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, joining.Count)));
        int prompt = RoundUp(joining.Max(s => s.PrefillTokens));
        int decode = RoundUp(joining.Max(s => s.DecodeTokens));
        int max = _factory.MaxPositions;
        prompt = Math.Min(prompt, Math.Max(1, max - 1));
        int context = Math.Min(prompt + decode, max);
        _current = Get(batch, prompt, context);
        _current.Prefill();
    }

    public void Release(LlmSequence sequence)
    {
    }

    public void Dispose()
    {
        foreach (IBatchDecoder d in _cache)
        {
            d.Dispose();
        }

        _cache.Clear();
        _factory.Dispose();
    }

    private static int RoundUp(int tokens) => Math.Max(LengthQuantum, (tokens + LengthQuantum - 1) / LengthQuantum * LengthQuantum);

    private IBatchDecoder Get(int batch, int prompt, int context)
    {
        for (LinkedListNode<IBatchDecoder>? n = _cache.First; n is not null; n = n.Next)
        {
            if (n.Value.Batch == batch && n.Value.PromptTokens == prompt && n.Value.MaxContext == context)
            {
                _cache.Remove(n);
                _cache.AddFirst(n);
                return n.Value;
            }
        }

        IBatchDecoder created = _factory.Create(batch, prompt, context);
        DecodersBuilt++;
        _cache.AddFirst(created);
        if (_cache.Count > CachedDecoders)
        {
            IBatchDecoder evicted = _cache.Last!.Value;
            _cache.RemoveLast();
            evicted.Dispose();
        }

        return created;
    }
}
