namespace Harness.Agents.Llm;

/// <summary>
/// One LLM device (a GPU, or a CPU running a decoder) as the agent scheduler drives it, one
/// iteration (forward pass) at a time: <see cref="Iterate"/> prefills the new context tokens of the
/// sequences that join, giving each its first token, and decodes one more token for every running
/// sequence, in the same pass (continuous batching with chunked prefill, as vLLM and SGLang run).
/// An agent's step is the iteration it joins in and <c>k - 1</c> more; the scheduler batches steps
/// of many agents and owns all timing (TTFT, per-token times, device busy time) around the calls.
/// Calls come from one thread at a time and occupy the device while they run.
/// </summary>
public interface ILlmStepExecutor : IDisposable
{
    /// <summary>What runs the steps, for the result: "latency-model", "onnx:cpu gpt2-124m"...</summary>
    string Name { get; }

    /// <summary>Sequences it can run together at most; the scheduler batches up to the smaller of this and the profile's.</summary>
    int MaxBatch { get; }

    /// <summary>
    /// True when sequences may join while others are decoding (continuous batching); false for
    /// fixed-shape decoders, which the scheduler then feeds one whole batch at a time.
    /// </summary>
    bool SupportsJoining { get; }

    /// <summary>Facts for the result's config (model, numbers and their source).</summary>
    IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary>
    /// One forward pass: prefills the <paramref name="joining"/> sequences' <see cref="LlmSequence.PrefillTokens"/>
    /// (each has its first token when this returns) and decodes one token for every sequence in
    /// <paramref name="running"/>. Either list may be empty, not both; without
    /// <see cref="SupportsJoining"/>, sequences join only when none is running.
    /// </summary>
    void Iterate(IReadOnlyList<LlmSequence> joining, IReadOnlyList<LlmSequence> running, CancellationToken cancellationToken);

    /// <summary>The sequence has all its tokens; its cache slot may be reused.</summary>
    void Release(LlmSequence sequence);
}

/// <summary>One agent's LLM step in flight: what to prefill and decode, and when each stage happened.</summary>
public sealed class LlmSequence
{
    public required int Agent { get; init; }

    /// <summary>Tokens to run through prefill: the new ones with a prefix cache, the whole context without.</summary>
    public required int PrefillTokens { get; init; }

    /// <summary>Tokens in the agent's context once this step's new tokens are in.</summary>
    public required int ContextTokens { get; init; }

    /// <summary>Tokens this step decodes (k), at least 1.</summary>
    public required int DecodeTokens { get; init; }

    /// <summary>Tokens produced so far: 1 after prefill, +1 per decode step.</summary>
    public int Produced { get; internal set; }

    public required long SubmitTimestamp { get; init; }

    /// <summary>When the scheduler admitted it into a prefill (queueing ends).</summary>
    public long AdmitTimestamp { get; internal set; }

    public long FirstTokenTimestamp { get; internal set; }

    public bool Done => Produced >= DecodeTokens;
}
