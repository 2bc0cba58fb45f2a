using Harness.Datasets;
using Harness.Decoding.Sampling;

namespace Harness.Decoding;

/// <summary>
/// An LLM at the request level: submit a request (a prompt, tokens to generate), receive its token
/// stream with timestamps. Implemented in this process by <see cref="InProcessLlmEndpoint"/> (a
/// continuous-batching loop over a step-level decoder); a remote server behind an HTTP client is
/// another implementation of the same contract, doing its own batching. The agents' scheduler talks
/// to this level only, so it runs unchanged against either.
/// </summary>
public interface ILlmEndpoint : IDisposable
{
    /// <summary>What serves the requests, for the result: "latency-model", "onnx:cpu gpt2-124m fp32"...</summary>
    string Name { get; }

    /// <summary>Facts for the result's config (model, numbers and their source, batching).</summary>
    IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary>Requests decoded at once at most (batch slots).</summary>
    int MaxBatch { get; }

    /// <summary>How requests join the running batch, in effect.</summary>
    LlmBatching Batching { get; }

    /// <summary>CPU time of the threads in this process that drive the device (zero for a remote server).</summary>
    TimeSpan DriverCpu { get; }

    /// <summary>
    /// Queues a request and returns at once; its events arrive on <paramref name="stream"/>, from any
    /// thread, in order: admitted, one token per generated token, then completed (or failed).
    /// </summary>
    void Submit(LlmRequest request, ILlmStream stream);

    /// <summary>Stops a request: a waiting one leaves the queue, a running one leaves at the next iteration boundary and frees its slot. Completes it as cancelled.</summary>
    void Cancel(LlmRequest request);

    /// <summary>Reports every iteration of the device to <paramref name="observer"/>; an endpoint that cannot see its device (a remote server) never calls it.</summary>
    void Observe(IDeviceObserver observer);

    /// <summary>
    /// Runs one request to its end on the calling thread: its events arrive on <paramref name="stream"/>
    /// before this returns. A remote endpoint reads its response right here (no thread hop between
    /// the socket and the timestamps); the default submits and waits. Cancelling stops the request.
    /// </summary>
    void Run(LlmRequest request, ILlmStream stream, CancellationToken cancellationToken)
    {
        using var waiter = new CompletionWaiter(stream);
        Submit(request, waiter);
        using (cancellationToken.Register(() => Cancel(request)))
        {
            waiter.Wait();
        }
    }
}

/// <summary>Forwards a request's events and lets the submitting thread wait for its end (<see cref="ILlmEndpoint.Run"/>).</summary>
internal sealed class CompletionWaiter(ILlmStream inner) : ILlmStream, IDisposable
{
    private readonly ManualResetEventSlim _done = new();

    public void Wait() => _done.Wait();

    public void Dispose() => _done.Dispose();

    public void Admitted(LlmRequest request, long timestamp) => inner.Admitted(request, timestamp);

    public void Token(LlmRequest request, long token, long timestamp) => inner.Token(request, token, timestamp);

    public void Token(LlmRequest request, long token, TokenLogprobs? logprobs, long timestamp) =>
        inner.Token(request, token, logprobs, timestamp);

    public void Completed(LlmRequest request, LlmCompletion completion, long timestamp)
    {
        inner.Completed(request, completion, timestamp);
        _done.Set();
    }

    public void Failed(LlmRequest request, Exception error)
    {
        inner.Failed(request, error);
        _done.Set();
    }
}

/// <summary>How an endpoint takes new requests while others decode.</summary>
public enum LlmBatching
{
    /// <summary>Requests join the running batch at the next iteration (continuous batching, as vLLM and TensorRT-LLM do).</summary>
    Continuous,

    /// <summary>A batch runs until all its requests end; requests that arrive meanwhile wait for the next batch.</summary>
    Static,
}

/// <summary>One generation request: a prompt (its length, and its ids where they matter) and how many tokens to generate.</summary>
public sealed class LlmRequest
{
    /// <summary>Tokens to prefill: the new ones where the server keeps a prefix cache, the whole context without.</summary>
    public required int PromptTokens { get; init; }

    /// <summary>The prompt's token ids; empty when only the length matters (a dense decoder's speed does not depend on them).</summary>
    public ReadOnlyMemory<long> PromptIds { get; init; }

    /// <summary>Tokens to generate at most, at least 1 (greedy: exactly this many unless an end token comes first).</summary>
    public required int MaxNewTokens { get; init; }

    /// <summary>Token ids that end the request once generated (an end-of-text token); empty: it runs to <see cref="MaxNewTokens"/>.</summary>
    public ReadOnlyMemory<long> EndTokens { get; init; }

    /// <summary>End tokens do not end the request before it has this many tokens (vLLM's min_tokens).</summary>
    public int MinNewTokens { get; init; }

    /// <summary>How its tokens are picked (greedy unless the request says otherwise).</summary>
    public SamplingParams Sampling { get; init; } = SamplingParams.Greedy;

    /// <summary>
    /// The conversation so far, for an endpoint that takes text (an HTTP server): every message in
    /// order, so that a server with a prefix cache sees what is shared with earlier requests. Empty
    /// for an endpoint that needs only the lengths.
    /// </summary>
    public IReadOnlyList<LlmMessage> Messages { get; init; } = [];
}

/// <summary>Why a request left its endpoint.</summary>
public enum LlmCompletion
{
    /// <summary>All its tokens were generated.</summary>
    Finished,

    /// <summary>It generated one of its end tokens (the last token it got) before its last token.</summary>
    EndToken,

    /// <summary>Cancelled before its last token.</summary>
    Cancelled,
}

/// <summary>Where an endpoint delivers a request's events, stamped with the endpoint's clock.</summary>
public interface ILlmStream
{
    /// <summary>The request left the queue: its prefill starts (the end of its queueing); for a remote endpoint, the request was sent.</summary>
    void Admitted(LlmRequest request, long timestamp);

    /// <summary>One generated token (a greedy id) reached the host; a remote endpoint calls it once per streamed event that carries tokens, with id -1 (its <see cref="IRecordingLlmStream.Record"/> holds how many each carried).</summary>
    void Token(LlmRequest request, long token, long timestamp);

    /// <summary>
    /// One generated token with its log-probabilities, when the request's sampling asked for them
    /// (else null): what an in-process endpoint calls; a stream that has no use for them need not implement it.
    /// </summary>
    void Token(LlmRequest request, long token, TokenLogprobs? logprobs, long timestamp) => Token(request, token, timestamp);

    /// <summary>The request is over: all its tokens, an end token, or cancelled.</summary>
    void Completed(LlmRequest request, LlmCompletion completion, long timestamp);

    /// <summary>The device failed while the request was queued or running, or a remote request failed (its reason in the message); no more events follow.</summary>
    void Failed(LlmRequest request, Exception error);
}

/// <summary>An in-process endpoint's device, iteration by iteration: what the agents' busy fraction is made of.</summary>
public interface IDeviceObserver
{
    /// <summary>An iteration with <paramref name="sequences"/> sequences (joining and decoding) started.</summary>
    void IterationStarted(int sequences, long start);

    /// <summary>It ended: <paramref name="joining"/> sequences prefilled <paramref name="prefillTokens"/> tokens, <paramref name="decoded"/> decoded one token each.</summary>
    void IterationDone(int joining, int decoded, int prefillTokens, long start, long end);
}

/// <summary>How an in-process endpoint batches (vLLM's scheduler settings, by other names).</summary>
public sealed record BatchingOptions
{
    /// <summary>Batch slots, at most the decoder's.</summary>
    public int MaxBatch { get; init; } = 32;

    public LlmBatching Batching { get; init; } = LlmBatching.Continuous;

    /// <summary>A waiting request is admitted once it has waited this long, or at once when the waiting ones fill the free slots.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Prefill tokens one iteration admits at most (vLLM's max_num_batched_tokens); at least one request always joins.</summary>
    public int MaxPrefillTokens { get; init; } = 16_384;
}
