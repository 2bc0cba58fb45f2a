using Harness.Decoding.Sampling;

namespace Harness.Decoding;

/// <summary>
/// One decoder LLM on one device, driven one iteration (forward pass) at a time: <see cref="Step"/>
/// prefills the sequences that join, giving each its first token, and decodes one more token for
/// every running sequence. Each sequence lives in its own KV-cache slot; prompt token ids go in and
/// greedy token ids come out. This is the level continuous batching is built on (vLLM, SGLang and
/// TensorRT-LLM iterate the same way): <c>generate</c> drives it directly, and
/// <see cref="ContinuousBatcher"/> serves requests over it. Calls come from one thread at a time and
/// occupy the device while they run; callers own all timing around them.
/// </summary>
public interface IStepDecoder : IDisposable
{
    /// <summary>What runs the steps, for the result: "latency-model", "onnx:cpu gpt2-124m fp32"...</summary>
    string Name { get; }

    /// <summary>KV-cache slots: sequences it holds at once at most.</summary>
    int Slots { get; }

    /// <summary>
    /// True when sequences may join while others decode (continuous batching, every
    /// <see cref="BatchDecoder"/>); false for a decoder that takes new sequences only when none is running (static batching).
    /// </summary>
    bool SupportsJoining { get; }

    /// <summary>Facts for the result's config (model, numbers and their source, how it batches).</summary>
    IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary>
    /// One forward pass: prefills the <paramref name="joining"/> sequences' prompts and decodes one
    /// token for every sequence in <paramref name="running"/>; each sequence of both lists gets
    /// exactly one <see cref="DecodeSequence.Emit"/>. Either list may be empty, not both; without
    /// <see cref="SupportsJoining"/>, sequences join only when none is running.
    /// </summary>
    void Step(IReadOnlyList<DecodeSequence> joining, IReadOnlyList<DecodeSequence> running, CancellationToken cancellationToken);

    /// <summary>The sequence has left (all its tokens, or cancelled); its slot may be reused.</summary>
    void Release(DecodeSequence sequence);
}

/// <summary>One sequence in a decoder: its slot, its prompt, and the tokens it has produced so far.</summary>
public sealed class DecodeSequence
{
    private List<long>? _history;

    public DecodeSequence(
        int slot, int promptTokens, int maxNewTokens, ReadOnlyMemory<long> promptIds = default, SamplingParams? sampling = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfLessThan(promptTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1);
        if (!promptIds.IsEmpty && promptIds.Length != promptTokens)
        {
            throw new ArgumentException($"{promptIds.Length} prompt ids for a prompt of {promptTokens} tokens.", nameof(promptIds));
        }

        Slot = slot;
        PromptTokens = promptTokens;
        MaxNewTokens = maxNewTokens;
        PromptIds = promptIds;
        Sampling = sampling ?? SamplingParams.Greedy;
        _history = Sampling.NeedsHistory ? new List<long>(Math.Min(maxNewTokens, 4096)) : null;
    }

    /// <summary>The KV-cache slot, 0 to the decoder's slots - 1, given by whoever batches.</summary>
    public int Slot { get; }

    /// <summary>Tokens its prefill runs: the new ones with a prefix cache, the whole context without.</summary>
    public int PromptTokens { get; }

    /// <summary>The prompt's token ids; empty when only the length matters (the decoder then uses seeded ids: a dense decoder's speed does not depend on them).</summary>
    public ReadOnlyMemory<long> PromptIds { get; }

    /// <summary>How it picks its tokens (greedy unless asked otherwise).</summary>
    public SamplingParams Sampling { get; }

    /// <summary>Tokens it generates at most (exactly this many unless its batcher stops it at an end token).</summary>
    public int MaxNewTokens { get; }

    /// <summary>Tokens produced so far: 1 after its prefill, +1 per decode step.</summary>
    public int Produced { get; private set; }

    /// <summary>The token id of the last iteration (0 from a decoder that models time only).</summary>
    public long LastToken { get; private set; }

    /// <summary>The last token's log-probabilities, when <see cref="Sampling"/> asks for them.</summary>
    public TokenLogprobs? LastLogprobs { get; private set; }

    /// <summary>The tokens generated so far, kept only when the penalties need them (else empty).</summary>
    public ReadOnlySpan<long> Generated => _history is null ? default : System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_history);

    public bool Done => Produced >= MaxNewTokens;

    /// <summary>
    /// The uniform draw in [0, 1) that picks the token of this iteration: a hash of the seed and
    /// the token's index, so a sequence draws the same numbers whatever batch it runs in.
    /// </summary>
    public double NextUniform()
    {
        ulong z = Sampling.Seed + (0x9E3779B97F4A7C15UL * (ulong)(Produced + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>Called by the decoder once per iteration the sequence takes part in.</summary>
    public void Emit(long token, TokenLogprobs? logprobs = null)
    {
        LastToken = token;
        LastLogprobs = logprobs;
        _history?.Add(token);
        Produced++;
    }
}
