using System.Globalization;
using Harness.Decoding.Sampling;
using Harness.Metrics;
using Harness.Models;

namespace Harness.Decoding;

/// <summary>
/// The one decoder each backend writes (continuous batching, as vLLM, SGLang and TensorRT-LLM
/// iterate): sequences join and leave a running batch. The running sequences sit in cache rows
/// 0 to live - 1, packed: a sequence that leaves from below gives its row to the last one (its
/// cache is moved, <see cref="MoveRow"/>), so a decode step runs over live rows only. All joiners
/// of an iteration are prefilled in one call, their ragged prompts in the rows after the live ones.
/// The KV cache grows in blocks of <see cref="BlockTokens"/> tokens as the longest sequence grows
/// (and shrinks when it is mostly empty), so its memory follows the live tokens, not slots x context.
/// This class keeps the bookkeeping; a backend supplies the passes and the cache:
/// <see cref="Resize"/>, <see cref="MoveRow"/>, <see cref="Prefill"/> and <see cref="Decode"/>.
/// A prompt longer than <see cref="Context"/> - 1 is cut to its last tokens, and a sequence that
/// fills <see cref="Context"/> keeps decoding at its last position (a server refuses such requests
/// before they get here).
/// </summary>
public abstract class BatchDecoder : IStepDecoder
{
    /// <summary>Tokens a cache row grows by at least.</summary>
    public const int DefaultBlockTokens = 64;

    /// <summary>Seed of the ids of prompts given by length only (token values do not change a dense decoder's speed).</summary>
    private const int PromptSeed = 42;

    private readonly DecodeSequence?[] _sequenceAt;
    private readonly Dictionary<DecodeSequence, int> _rowOf = new(ReferenceEqualityComparer.Instance);
    private readonly int[] _length;
    private readonly long[] _seeded;
    private readonly StepRows _decodeRows;
    private readonly StepRows _prefillRows;
    private DeviceMemory? _memory;
    private long _checkedPrefillTokens;
    private int _live;

    /// <param name="spec">
    /// The model, and the sequences (<see cref="DecoderSpec.Slots"/>) and tokens each
    /// (<see cref="DecoderSpec.Context"/>, else the model's max positions) it holds at most.
    /// </param>
    /// <param name="blockTokens">Tokens the cache grows by at least.</param>
    protected BatchDecoder(DecoderSpec spec, int blockTokens = DefaultBlockTokens)
    {
        int context = spec.Context ?? spec.Model.MaxPositions;
        if (context < 2 || context > spec.Model.MaxPositions)
        {
            throw HarnessException.BadInput(string.Create(
                CultureInfo.InvariantCulture,
                $"A decoder needs a context of 2 to {spec.Model.MaxPositions} tokens ({spec.Model.Name}'s max_positions), not {context}."));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(spec.Slots, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockTokens, 1);
        Spec = spec;
        Context = context;
        BlockTokens = blockTokens;
        _sequenceAt = new DecodeSequence?[spec.Slots];
        _length = new int[spec.Slots];
        _seeded = new long[context];
        GenerateSettings.FillPrompt(_seeded, PromptSeed, spec.Model.Vocab);
        _decodeRows = new StepRows(spec.Slots);
        _prefillRows = new StepRows(spec.Slots);
    }

    public DecoderSpec Spec { get; }

    /// <summary>Tokens one sequence holds at most: prompt plus generated tokens.</summary>
    public int Context { get; }

    /// <summary>Tokens a cache row grows by at least.</summary>
    public int BlockTokens { get; }

    public abstract string Name { get; }

    public int Slots => Spec.Slots;

    public bool SupportsJoining => true;

    public abstract IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary>Sequences in the batch now (rows 0 to this - 1).</summary>
    public int Live => _live;

    /// <summary>Rows the cache holds now.</summary>
    public int CapacityRows { get; private set; }

    /// <summary>Tokens each row of the cache holds now.</summary>
    public int CapacityTokens { get; private set; }

    /// <summary>The most rows x tokens the cache held at once in this decoder's life (for the result).</summary>
    public long PeakCacheTokens { get; private set; }

    /// <summary>
    /// False for a backend whose passes need fixed buffers (a captured CUDA graph): the cache is then
    /// allocated once, <see cref="Slots"/> x <see cref="Context"/>, and never resized.
    /// </summary>
    protected virtual bool GrowsCache => true;

    /// <summary>Tokens in the cache of the sequence (after its last iteration).</summary>
    public int Length(DecodeSequence sequence) => _length[_rowOf[sequence]];

    /// <summary>The cache row the sequence sits in now (rows move when sequences leave).</summary>
    public int RowOf(DecodeSequence sequence) => _rowOf[sequence];

    /// <summary>
    /// Tokens of the first memory check: one block of one sequence, its prefill included. Larger
    /// prefills and every growth of the cache are checked when they come, so a long-context model is
    /// not refused for a context its requests never use.
    /// </summary>
    public static int FirstCheckTokens(int context) => Math.Min(context, DefaultBlockTokens);

    /// <summary>
    /// Checks, before anything is allocated, that the weights and the first block of the cache fit in
    /// <paramref name="memory"/> (the whole fixed cache when it does not grow); each larger prefill and
    /// each growth of the cache is checked again before it is made.
    /// </summary>
    public void CheckMemory(DeviceMemory memory)
    {
        _memory = memory;
        int first = FirstCheckTokens(Context);
        int rows = GrowsCache ? 1 : Slots, tokens = GrowsCache ? first : Context;
        MemoryFit.Check(Spec.Model, rows, first, tokens, Spec.DType, memory.AvailableBytes, memory.Name, Spec.Quantization);
        _checkedPrefillTokens = first;
    }

    public void Step(IReadOnlyList<DecodeSequence> joining, IReadOnlyList<DecodeSequence> running, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (running.Count != _live)
        {
            throw new InvalidOperationException(
                $"{running.Count} sequences decode, but {_live} are in the batch: every sequence in it decodes each iteration");
        }

        if (_live + joining.Count > Slots)
        {
            throw new InvalidOperationException($"{joining.Count} sequences joined {_live} in a decoder of {Slots} slots");
        }

        // The iteration's rows first, then one resize of the cache for both passes.
        (int decodeTokens, int decodeKeep) = SetRunning(running);
        (int prefillTokens, int prefillKeep) = SetJoining(joining);
        Fit(_live + joining.Count, Math.Max(decodeTokens, prefillTokens), Math.Max(decodeKeep, prefillKeep));
        if (running.Count > 0)
        {
            Decode(_decodeRows);
            for (int r = 0; r < _live; r++)
            {
                _length[r] = _decodeRows.Positions[r] + 1;
                _decodeRows.Sequence(r).Emit(_decodeRows.Next[r], _decodeRows.Logprobs[r]);
            }
        }

        if (joining.Count > 0)
        {
            CheckPrefillMemory(joining.Count, _prefillRows.LongestPrompt);
            Prefill(_prefillRows);
            int first = _live;
            for (int i = 0; i < joining.Count; i++)
            {
                int row = first + i;
                DecodeSequence s = joining[i];
                _sequenceAt[row] = s;
                _rowOf[s] = row;
                _length[row] = _prefillRows.Prompt(i).Length;
                _live = row + 1;
                s.Emit(_prefillRows.Next[i], _prefillRows.Logprobs[i]);
            }
        }
    }

    /// <summary>
    /// The sequence leaves: its row is freed at once (the last row moves into it, so the rows stay
    /// packed). The cache keeps its size until the next <see cref="Step"/>, which shrinks it if the
    /// sequences then in the batch use a quarter of it or less (so a batch that ends and the next
    /// one that joins do not shrink and regrow it in between).
    /// </summary>
    public void Release(DecodeSequence sequence)
    {
        if (!_rowOf.Remove(sequence, out int row))
        {
            return;
        }

        int last = _live - 1;
        if (row != last)
        {
            DecodeSequence moved = _sequenceAt[last]!;
            MoveRow(last, row, _length[last]);
            _sequenceAt[row] = moved;
            _length[row] = _length[last];
            _rowOf[moved] = row;
        }

        _sequenceAt[last] = null;
        _length[last] = 0;
        _live = last;
    }

    public abstract void Dispose();

    /// <summary>
    /// Makes the cache hold <paramref name="rows"/> rows of <paramref name="tokens"/> tokens (larger or
    /// smaller), keeping the first <c>lengths[r]</c> tokens of each live row r (<paramref name="lengths"/>
    /// has one entry per live row). Called with the first size before any pass.
    /// </summary>
    protected abstract void Resize(int rows, int tokens, ReadOnlySpan<int> lengths);

    /// <summary>
    /// Moves the first <paramref name="tokens"/> cached tokens of row <paramref name="from"/> to row
    /// <paramref name="to"/> (a lower row, freed by a sequence that left).
    /// </summary>
    protected abstract void MoveRow(int from, int to, int tokens);

    /// <summary>
    /// One pass over rows [<see cref="StepRows.FirstRow"/>, + <see cref="StepRows.Count"/>): each row's
    /// prompt (<see cref="StepRows.Prompt"/>, ragged) from position 0; writes each row's first token
    /// to <see cref="StepRows.Next"/> (and its log-probabilities when its sampling asks).
    /// </summary>
    protected abstract void Prefill(StepRows rows);

    /// <summary>
    /// One decode step over rows 0 to <see cref="StepRows.Count"/> - 1: row r feeds
    /// <see cref="StepRows.Tokens"/>[r] at position <see cref="StepRows.Positions"/>[r] (its cache holds
    /// that many tokens before it) and writes its next token to <see cref="StepRows.Next"/>[r].
    /// </summary>
    protected abstract void Decode(StepRows rows);

    /// <summary>What the result's config says about how it batches (the backends add theirs).</summary>
    protected Dictionary<string, object?> DescribeBatching(IReadOnlyDictionary<string, object?> backend)
    {
        Dictionary<string, object?> details = Spec.Details();
        foreach ((string k, object? v) in backend)
        {
            details[k] = v;
        }

        const string Batching = "continuous batching over packed rows: joiners prefilled together in one pass, "
            + "one decode step over the live rows at their own lengths";
        details[ConfigKeys.StepDecoder] = GrowsCache
            ? $"{Batching}; the KV cache grows and shrinks in blocks of {BlockTokens} tokens up to {Context} per sequence"
            : $"{Batching}; the KV cache is fixed at {Slots} x {Context} tokens";
        details[ConfigKeys.KvSlots] = Slots;
        details[ConfigKeys.KvSlotTokens] = Context;
        return details;
    }

    /// <summary>Sets the decode rows; returns the tokens the step needs per row and the most its sequences will need.</summary>
    private (int Tokens, int Keep) SetRunning(IReadOnlyList<DecodeSequence> running)
    {
        _decodeRows.Reset(0, running.Count);
        int longest = 0, keep = 0;
        for (int i = 0; i < running.Count; i++)
        {
            DecodeSequence s = running[i];
            if (!_rowOf.TryGetValue(s, out int row))
            {
                throw new InvalidOperationException($"sequence in slot {s.Slot} decodes without a prefill");
            }

            // A full row keeps decoding at its last position (overwriting it).
            int position = Math.Min(_length[row], Context - 1);
            _decodeRows.Set(row, s, s.LastToken, position);
            longest = Math.Max(longest, position + 1);
            keep = Math.Max(keep, Math.Min(Context, _length[row] + s.MaxNewTokens - s.Produced));
        }

        return (longest, keep);
    }

    /// <summary>Sets the prefill rows (prompts cut to the context); returns the longest prompt and the most they will need.</summary>
    private (int Tokens, int Keep) SetJoining(IReadOnlyList<DecodeSequence> joining)
    {
        _prefillRows.Reset(_live, joining.Count);
        int longest = 0, keep = 0;
        for (int i = 0; i < joining.Count; i++)
        {
            DecodeSequence s = joining[i];
            if (_rowOf.ContainsKey(s))
            {
                throw new InvalidOperationException($"sequence in slot {s.Slot} joined twice");
            }

            ReadOnlyMemory<long> ids = s.PromptIds.IsEmpty
                ? _seeded.AsMemory(0, Math.Min(s.PromptTokens, Context - 1))
                : s.PromptIds;
            if (ids.Length > Context - 1)
            {
                ids = ids[^(Context - 1)..];
            }

            _prefillRows.SetPrompt(i, s, ids);
            longest = Math.Max(longest, ids.Length);
            keep = Math.Max(keep, Math.Min(Context, ids.Length + s.MaxNewTokens - 1));
        }

        return (longest, keep);
    }

    /// <summary>
    /// Sizes the cache for an iteration over <paramref name="rows"/> rows needing <paramref name="tokens"/>
    /// tokens each: grows it in blocks, by half at least (but not past what its sequences will need,
    /// <paramref name="keep"/>), or gives memory back when they will use a quarter of it or less
    /// (keeping room for twice the rows).
    /// </summary>
    private void Fit(int rows, int tokens, int keep)
    {
        if (rows == 0)
        {
            return;
        }

        if (!GrowsCache)
        {
            if (CapacityRows == 0)
            {
                ResizeTo(Slots, Context);
            }

            return;
        }

        keep = Math.Max(keep, tokens);
        if (rows > CapacityRows || tokens > CapacityTokens)
        {
            int newRows = rows <= CapacityRows
                ? CapacityRows
                : Math.Min(Slots, Math.Max(rows, CapacityRows + (CapacityRows / 2)));
            int newTokens = tokens <= CapacityTokens
                ? CapacityTokens
                : Math.Min(Context, Math.Min(RoundUp(keep), RoundUp(Math.Max(tokens, CapacityTokens + (CapacityTokens / 2)))));
            ResizeTo(newRows, newTokens);
            return;
        }

        if ((long)Math.Max(rows, 1) * keep * 4 <= (long)CapacityRows * CapacityTokens)
        {
            int newRows = Math.Max(1, Math.Min(CapacityRows, rows * 2));
            int newTokens = Math.Min(CapacityTokens, RoundUp(Math.Max(BlockTokens, keep)));
            if (newRows != CapacityRows || newTokens != CapacityTokens)
            {
                ResizeTo(newRows, newTokens);
            }
        }
    }

    /// <summary>A prefill larger than any checked before: its activations and attention scores are checked before it runs.</summary>
    private void CheckPrefillMemory(int rows, int longest)
    {
        long tokens = (long)rows * longest;
        if (_memory is { } memory && tokens > _checkedPrefillTokens)
        {
            int context = Math.Max(longest, CapacityTokens);
            MemoryFit.Check(Spec.Model, rows, longest, context, Spec.DType, memory.AvailableBytes, memory.Name, Spec.Quantization);
            _checkedPrefillTokens = tokens;
        }
    }

    private void ResizeTo(int rows, int tokens)
    {
        if (_memory is { } memory && ((long)rows * tokens) > PeakCacheTokens)
        {
            MemoryFit.Check(Spec.Model, rows, 1, tokens, Spec.DType, memory.AvailableBytes, memory.Name, Spec.Quantization);
        }

        Resize(rows, tokens, _length.AsSpan(0, _live));
        CapacityRows = rows;
        CapacityTokens = tokens;
        PeakCacheTokens = Math.Max(PeakCacheTokens, (long)rows * tokens);
    }

    private int RoundUp(int tokens) => (tokens + BlockTokens - 1) / BlockTokens * BlockTokens;
}

/// <summary>
/// The rows of one backend pass, and what the pass writes back: reused from step to step, so a
/// step allocates nothing. Row i of a prefill is cache row <see cref="FirstRow"/> + i.
/// </summary>
public sealed class StepRows
{
    private readonly DecodeSequence[] _sequences;
    private readonly ReadOnlyMemory<long>[] _prompts;
    private readonly long[] _tokens;
    private readonly int[] _positions;
    private readonly long[] _next;
    private readonly TokenLogprobs?[] _logprobs;

    public StepRows(int capacity)
    {
        _sequences = new DecodeSequence[capacity];
        _prompts = new ReadOnlyMemory<long>[capacity];
        _tokens = new long[capacity];
        _positions = new int[capacity];
        _next = new long[capacity];
        _logprobs = new TokenLogprobs?[capacity];
    }

    /// <summary>The cache row of the first row of the pass (0 for a decode step).</summary>
    public int FirstRow { get; private set; }

    /// <summary>Rows in the pass.</summary>
    public int Count { get; private set; }

    /// <summary>True when every row's sampling is plain greedy: the graph's argmax gives the tokens, no sampler runs.</summary>
    public bool AllPlainGreedy
    {
        get
        {
            for (int i = 0; i < Count; i++)
            {
                if (!_sequences[i].Sampling.IsPlainGreedy)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>The longest prompt of a prefill.</summary>
    public int LongestPrompt
    {
        get
        {
            int longest = 0;
            for (int i = 0; i < Count; i++)
            {
                longest = Math.Max(longest, _prompts[i].Length);
            }

            return longest;
        }
    }

    /// <summary>Decode: the token each row feeds.</summary>
    public ReadOnlySpan<long> Tokens => _tokens.AsSpan(0, Count);

    /// <summary>Decode: the position each row's token goes to (tokens in its cache before it).</summary>
    public ReadOnlySpan<int> Positions => _positions.AsSpan(0, Count);

    /// <summary>Written by the pass: each row's next token.</summary>
    public Span<long> Next => _next.AsSpan(0, Count);

    /// <summary>Written by the pass for rows whose sampling asks for log-probabilities (else left null).</summary>
    public Span<TokenLogprobs?> Logprobs => _logprobs.AsSpan(0, Count);

    /// <summary>The sequence in row <paramref name="i"/> of the pass (its sampling, seed and history).</summary>
    public DecodeSequence Sequence(int i) => _sequences[i];

    /// <summary>The sequences of the pass in row order (what a sampler reads: sampling, draws, history).</summary>
    public ReadOnlySpan<DecodeSequence> Sequences => _sequences.AsSpan(0, Count);

    /// <summary>Prefill: the prompt of row <paramref name="i"/>.</summary>
    public ReadOnlySpan<long> Prompt(int i) => _prompts[i].Span;

    internal void Reset(int firstRow, int count)
    {
        FirstRow = firstRow;
        Count = count;
        Array.Clear(_logprobs, 0, count);
        Array.Clear(_prompts, 0, _prompts.Length);
    }

    internal void Set(int row, DecodeSequence sequence, long token, int position)
    {
        _sequences[row] = sequence;
        _tokens[row] = token;
        _positions[row] = position;
    }

    internal void SetPrompt(int i, DecodeSequence sequence, ReadOnlyMemory<long> prompt)
    {
        _sequences[i] = sequence;
        _prompts[i] = prompt;
    }
}
