using System.Numerics;
using Harness.Metrics;
using Harness.Models;

namespace Harness.Decoding;

/// <summary>
/// A backend's decoder runner of one fixed shape (batch, prompt, cache length): batched prefill,
/// then one greedy decode step for every sequence at once (ONNX Runtime's OnnxDecoderRunner,
/// TorchSharp's TorchDecoderRunner).
/// </summary>
public interface IBatchRunner : IDisposable
{
    int Batch { get; }

    int PromptTokens { get; }

    /// <summary>Prompt plus decoded tokens the cache holds.</summary>
    int MaxContext { get; }

    /// <summary>Tokens in the cache of each sequence after the last run.</summary>
    int Position { get; }

    /// <summary>The greedy tokens of the last run, one per sequence (row).</summary>
    ReadOnlySpan<long> NextTokens { get; }

    /// <summary>Runs the prompt (batch x prompt tokens, row-major); the first tokens are on the host when it returns.</summary>
    void Prefill(ReadOnlySpan<long> prompt);

    /// <summary>Feeds the last tokens back and decodes one more token per sequence.</summary>
    void Step();

    /// <summary>Moves the position back, so that the next steps overwrite the cache from there.</summary>
    void Rewind(int position);
}

/// <summary>Makes runners of a given shape for one model on one device (one loaded model, many shapes).</summary>
public interface IBatchRunnerFactory : IDisposable
{
    /// <summary>e.g. "onnx:cpu gpt2-124m fp32".</summary>
    string Name { get; }

    /// <summary>Backend facts for the result's config (model path, execution provider, threads...).</summary>
    IReadOnlyDictionary<string, object?> Details { get; }

    IBatchRunner Create(int batch, int promptTokens, int maxContext);
}

/// <summary>
/// A step-level decoder over a backend's fixed-shape runners: the adapter through which ONNX Runtime
/// and TorchSharp serve the <see cref="IStepDecoder"/> contract until they take sequences into a
/// running batch. A batch is prefilled when none is running (<see cref="SupportsJoining"/> is false,
/// static batching), its sequences fill the rows in the order they join, and every decode step runs
/// the whole batch; a sequence that finishes early keeps its row until the batch ends. Runners are
/// built per shape (<see cref="DecoderShapes"/>) and the last few are kept for reuse. Prompt ids that
/// a sequence brings are left-padded with seeded ids to the batch's prompt length (exact when the
/// shape is exact); sequences without ids, and rows beyond the sequences, get seeded ids.
/// </summary>
public sealed class FixedShapeDecoder : IStepDecoder
{
    private const int LengthQuantum = 64;
    private const int CachedRunners = 4;

    /// <summary>Seed of the ids of prompts given by length only (token values do not change a dense decoder's speed).</summary>
    private const int PromptSeed = 42;

    private readonly IBatchRunnerFactory _factory;
    private readonly DecoderSpec _spec;
    private readonly DeviceMemory _memory;
    private readonly LinkedList<(IBatchRunner Runner, long[] Seeded)> _cache = new();
    private readonly Dictionary<DecodeSequence, int> _rows = new(ReferenceEqualityComparer.Instance);
    private long[] _prompt = [];
    private IBatchRunner? _current;

    /// <param name="memory">Where the runners allocate: each new shape is checked against it before anything is allocated.</param>
    public FixedShapeDecoder(IBatchRunnerFactory factory, DecoderSpec spec, DeviceMemory memory)
    {
        _factory = factory;
        _spec = spec;
        _memory = memory;
        Dictionary<string, object?> details = spec.Details();
        foreach ((string k, object? v) in factory.Details)
        {
            details[k] = v;
        }

        details[ConfigKeys.StepDecoder] =
            "fixed-shape runner behind an adapter: sequences join only when none is decoding (static batching)";
        if (spec.Shapes == DecoderShapes.Rounded)
        {
            details[ConfigKeys.LlmLongSteps] = $"batch rounded to a power of two, lengths to multiples of {LengthQuantum}; prompts are cut to {spec.Model.MaxPositions - 1} tokens; a step that decodes past the cache keeps decoding at its last position";
        }

        Details = details;
    }

    public string Name => _factory.Name;

    public int Slots => _spec.Slots;

    public bool SupportsJoining => false;

    public IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary>Runners built so far (for tests and the result).</summary>
    public int RunnersBuilt { get; private set; }

    public void Step(IReadOnlyList<DecodeSequence> joining, IReadOnlyList<DecodeSequence> running, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (joining.Count == 0)
        {
            IBatchRunner r = _current ?? throw new InvalidOperationException("decode before prefill");
            if (r.Position >= r.MaxContext)
            {
                r.Rewind(r.MaxContext - 1);
            }

            r.Step();
            Emit(running);
            return;
        }

        if (running.Count > 0)
        {
            throw new InvalidOperationException("a fixed-shape decoder cannot take new sequences while others decode");
        }

        if (joining.Count > Slots)
        {
            throw new InvalidOperationException($"{joining.Count} sequences joined a decoder of {Slots} slots");
        }

        (int batch, int prompt, int context) = Shape(joining);
        (IBatchRunner runner, long[] seeded) = Get(batch, prompt, context);
        _current = runner;
        _rows.Clear();
        if (_prompt.Length != seeded.Length)
        {
            _prompt = new long[seeded.Length];
        }

        seeded.CopyTo(_prompt, 0);
        for (int row = 0; row < joining.Count; row++)
        {
            DecodeSequence s = joining[row];
            _rows[s] = row;
            ReadOnlySpan<long> ids = s.PromptIds.Span;
            if (ids.Length > 0)
            {
                // Left-padded: the last prompt token sits at the last position, which the first token follows.
                ReadOnlySpan<long> kept = ids.Length > prompt ? ids[^prompt..] : ids;
                kept.CopyTo(_prompt.AsSpan(((row + 1) * prompt) - kept.Length, kept.Length));
            }
        }

        runner.Prefill(_prompt);
        Emit(joining);
    }

    public void Release(DecodeSequence sequence) => _rows.Remove(sequence);

    public void Dispose()
    {
        foreach ((IBatchRunner r, _) in _cache)
        {
            r.Dispose();
        }

        _cache.Clear();
        _factory.Dispose();
    }

    private static int RoundUp(int tokens) => Math.Max(LengthQuantum, (tokens + LengthQuantum - 1) / LengthQuantum * LengthQuantum);

    private (int Batch, int Prompt, int Context) Shape(IReadOnlyList<DecodeSequence> joining)
    {
        int prompt = 0, decode = 0;
        foreach (DecodeSequence s in joining)
        {
            prompt = Math.Max(prompt, s.PromptTokens);
            decode = Math.Max(decode, s.MaxNewTokens);
        }

        if (_spec.Shapes == DecoderShapes.Exact)
        {
            // The new tokens after the first come from decode steps: prompt + new - 1 cache positions
            // would do, but generate has always sized the cache prompt + new (its MemoryFit estimate too).
            return (joining.Count, prompt, prompt + decode);
        }

        int max = _spec.Model.MaxPositions;
        int batch = (int)Math.Min(Slots, BitOperations.RoundUpToPowerOf2((uint)joining.Count));
        prompt = Math.Min(RoundUp(prompt), Math.Max(1, max - 1));
        return (batch, prompt, Math.Min(prompt + RoundUp(decode), max));
    }

    private void Emit(IReadOnlyList<DecodeSequence> sequences)
    {
        ReadOnlySpan<long> tokens = _current!.NextTokens;
        for (int i = 0; i < sequences.Count; i++)
        {
            DecodeSequence s = sequences[i];
            s.Emit(tokens[_rows[s]]);
        }
    }

    private (IBatchRunner Runner, long[] Seeded) Get(int batch, int prompt, int context)
    {
        for (LinkedListNode<(IBatchRunner Runner, long[] Seeded)>? n = _cache.First; n is not null; n = n.Next)
        {
            IBatchRunner r = n.Value.Runner;
            if (r.Batch == batch && r.PromptTokens == prompt && r.MaxContext == context)
            {
                _cache.Remove(n);
                _cache.AddFirst(n);
                return n.Value;
            }
        }

        MemoryFit.Check(_spec.Model, batch, prompt, context, _spec.DType, _memory.AvailableBytes, _memory.Name);
        var seeded = new long[(long)batch * prompt];
        GenerateSettings.FillPrompt(seeded, PromptSeed, _spec.Model.Vocab);
        (IBatchRunner, long[]) created = (_factory.Create(batch, prompt, context), seeded);
        RunnersBuilt++;
        _cache.AddFirst(created);
        if (_cache.Count > CachedRunners)
        {
            IBatchRunner evicted = _cache.Last!.Value.Runner;
            _cache.RemoveLast();
            evicted.Dispose();
        }

        return created;
    }
}
