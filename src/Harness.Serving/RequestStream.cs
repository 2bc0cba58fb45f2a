using System.Threading.Channels;
using Harness.Decoding;
using Harness.Decoding.Sampling;

namespace Harness.Serving;

/// <summary>What happened to a request on the device, in order.</summary>
internal enum StreamEventKind
{
    Admitted,
    Token,
    Completed,
    Failed,
}

internal readonly record struct StreamEvent(
    StreamEventKind Kind,
    long Token,
    long Timestamp,
    LlmCompletion Completion = default,
    Exception? Error = null,
    TokenLogprobs? Logprobs = null);

/// <summary>
/// One request's events from the endpoint's device thread to its HTTP handler: written without
/// blocking (the device thread must never wait on a client), read by the handler in batches.
/// </summary>
internal sealed class RequestStream : ILlmStream
{
    private readonly Channel<StreamEvent> _events = Channel.CreateUnbounded<StreamEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });

    public ChannelReader<StreamEvent> Reader => _events.Reader;

    public void Admitted(LlmRequest request, long timestamp) => _events.Writer.TryWrite(new(StreamEventKind.Admitted, 0, timestamp));

    public void Token(LlmRequest request, long token, long timestamp) => Token(request, token, null, timestamp);

    public void Token(LlmRequest request, long token, TokenLogprobs? logprobs, long timestamp) =>
        _events.Writer.TryWrite(new(StreamEventKind.Token, token, timestamp, Logprobs: logprobs));

    public void Completed(LlmRequest request, LlmCompletion completion, long timestamp)
    {
        _events.Writer.TryWrite(new(StreamEventKind.Completed, 0, timestamp, completion));
        _events.Writer.TryComplete();
    }

    public void Failed(LlmRequest request, Exception error)
    {
        _events.Writer.TryWrite(new(StreamEventKind.Failed, 0, 0, Error: error));
        _events.Writer.TryComplete();
    }
}
