using Harness.Metrics;
using Harness.Models;

namespace Harness.Decoding;

/// <summary>
/// A step-level decoder in which every sequence owns a KV-cache slot of <see cref="Context"/>
/// tokens and sequences join while others decode (continuous batching): a joiner is prefilled alone
/// into its slot's rows of the cache, and one decode step runs the slots from 0 to the highest one in
/// use, each at its own length. A free slot below the highest decodes a dummy token at position 0,
/// which the next joiner's prefill overwrites; the batcher hands out the lowest free slot, so the
/// slots in use stay packed at the bottom. Backends supply the two passes (ONNX Runtime:
/// GroupQueryAttention with a sequence length per row; TorchSharp: a position per row and a length
/// mask). A prompt longer than the slot is cut to its last <see cref="Context"/> - 1 tokens, and a
/// sequence that fills its slot keeps decoding at the last position (a server refuses such requests
/// before they get here).
/// </summary>
public abstract class SlotDecoder : IStepDecoder
{
    /// <summary>Seed of the ids of prompts given by length only (token values do not change a dense decoder's speed).</summary>
    private const int PromptSeed = 42;

    private readonly int[] _length;
    private readonly long[] _tokens;
    private readonly int[] _positions;
    private readonly long[] _next;
    private readonly long[] _seeded;

    protected SlotDecoder(DecoderSpec spec)
    {
        if (spec.Context is not { } context || context < 2 || context > spec.Model.MaxPositions)
        {
            throw HarnessException.BadInput($"A decoder with a KV-cache slot per sequence needs a context of 2 to {spec.Model.MaxPositions} tokens ({spec.Model.Name}'s max_positions), not {spec.Context?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}.");
        }

        Spec = spec;
        Context = context;
        _length = new int[spec.Slots];
        _tokens = new long[spec.Slots];
        _positions = new int[spec.Slots];
        _next = new long[spec.Slots];
        _seeded = new long[context];
        GenerateSettings.FillPrompt(_seeded, PromptSeed, spec.Model.Vocab);
    }

    public DecoderSpec Spec { get; }

    /// <summary>Tokens one slot holds: prompt plus generated tokens.</summary>
    public int Context { get; }

    public abstract string Name { get; }

    public int Slots => Spec.Slots;

    public bool SupportsJoining => true;

    public abstract IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary>Tokens in the cache of a slot (0 when free).</summary>
    public int Length(int slot) => _length[slot];

    /// <summary>
    /// Checks, before anything is allocated, that the weights, the KV cache of every slot and the
    /// largest prefill (one slot's whole context) fit in <paramref name="memory"/>.
    /// </summary>
    public static void CheckMemory(DecoderSpec spec, DeviceMemory memory)
    {
        int context = spec.Context ?? spec.Model.MaxPositions;
        MemoryFit.Check(spec.Model, spec.Slots, 1, context, spec.DType, memory.AvailableBytes, memory.Name);
        MemoryFit.Check(spec.Model, 1, context, context, spec.DType, memory.AvailableBytes, memory.Name);
    }

    /// <summary>What the result's config says about how it batches (the backends add theirs).</summary>
    protected Dictionary<string, object?> DescribeBatching(IReadOnlyDictionary<string, object?> backend)
    {
        Dictionary<string, object?> details = Spec.Details();
        foreach ((string k, object? v) in backend)
        {
            details[k] = v;
        }

        details[ConfigKeys.StepDecoder] = $"a KV-cache slot of {Context} tokens per sequence: joiners prefilled alone into their slot, one decode step over the slots in use at their own lengths (continuous batching)";
        details[ConfigKeys.KvSlots] = Slots;
        details[ConfigKeys.KvSlotTokens] = Context;
        return details;
    }

    public void Step(IReadOnlyList<DecodeSequence> joining, IReadOnlyList<DecodeSequence> running, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Decode first: a free slot below the highest in use decodes a dummy token at position 0,
        // which must not land on a joiner's prompt already prefilled in this iteration.
        if (running.Count > 0)
        {
            DecodeRunning(running);
        }

        for (int i = 0; i < joining.Count; i++)
        {
            DecodeSequence s = joining[i];
            if (_length[s.Slot] != 0)
            {
                throw new InvalidOperationException($"slot {s.Slot} joined while in use");
            }

            ReadOnlySpan<long> ids = s.PromptIds.IsEmpty ? _seeded.AsSpan(0, Math.Min(s.PromptTokens, Context - 1)) : s.PromptIds.Span;
            if (ids.Length > Context - 1)
            {
                ids = ids[^(Context - 1)..];
            }

            long token = Prefill(s.Slot, ids);
            _length[s.Slot] = ids.Length;
            s.Emit(token);
        }
    }

    public void Release(DecodeSequence sequence) => _length[sequence.Slot] = 0;

    public abstract void Dispose();

    /// <summary>Runs <paramref name="prompt"/> into slot <paramref name="slot"/> from position 0; returns the greedy next token.</summary>
    protected abstract long Prefill(int slot, ReadOnlySpan<long> prompt);

    /// <summary>
    /// One decode step of slots 0 to <paramref name="rows"/> - 1: row r feeds <paramref name="tokens"/>[r]
    /// at position <paramref name="positions"/>[r] (its cache holds that many tokens before it) and
    /// writes its greedy next token to <paramref name="next"/>[r].
    /// </summary>
    protected abstract void Decode(int rows, ReadOnlySpan<long> tokens, ReadOnlySpan<int> positions, Span<long> next);

    private void DecodeRunning(IReadOnlyList<DecodeSequence> running)
    {
        int rows = 0;
        for (int i = 0; i < running.Count; i++)
        {
            rows = Math.Max(rows, running[i].Slot + 1);
        }

        Array.Clear(_tokens, 0, rows);
        Array.Clear(_positions, 0, rows);
        for (int i = 0; i < running.Count; i++)
        {
            DecodeSequence s = running[i];
            if (_length[s.Slot] == 0)
            {
                throw new InvalidOperationException($"slot {s.Slot} decodes without a prefill");
            }

            _tokens[s.Slot] = s.LastToken;
            // A full slot keeps decoding at its last position (overwriting it).
            _positions[s.Slot] = Math.Min(_length[s.Slot], Context - 1);
        }

        Decode(rows, _tokens.AsSpan(0, rows), _positions.AsSpan(0, rows), _next.AsSpan(0, rows));
        for (int i = 0; i < running.Count; i++)
        {
            DecodeSequence s = running[i];
            _length[s.Slot] = _positions[s.Slot] + 1;
            s.Emit(_next[s.Slot]);
        }
    }
}
