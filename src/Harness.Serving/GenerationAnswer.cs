using System.Diagnostics;
using System.Threading.Channels;
using Harness.Decoding;

namespace Harness.Serving;

/// <summary>
/// One request answered from its events as they come off the device: each token's text through the
/// <see cref="StopMatcher"/> (a stop string cancels the sequence), out through the
/// <see cref="CompletionWriter"/>, and the server's metrics recorded on the way (queue time, time to
/// first token, the gaps between tokens, the end).
/// </summary>
internal sealed class GenerationAnswer
{
    private readonly ServerMetrics _metrics;
    private readonly InProcessLlmEndpoint _endpoint;
    private readonly GenerationRequest _request;
    private readonly LlmRequest _llm;
    private readonly long _arrival;
    private readonly StopMatcher _stop;
    private readonly CompletionWriter _writer;
    private readonly Action<Exception> _decoderFailed;
    private int _produced;
    private long _first;
    private long _last;
    private string? _finish;

    /// <param name="arrival">When the request reached its handler (a <see cref="Stopwatch"/> timestamp).</param>
    /// <param name="decoderFailed">Told when the decoder fails under this request (the server is then unhealthy).</param>
    public GenerationAnswer(
        ServerMetrics metrics,
        InProcessLlmEndpoint endpoint,
        ServedModel model,
        GenerationRequest request,
        LlmRequest llm,
        long arrival,
        CompletionWriter writer,
        Action<Exception> decoderFailed)
    {
        _metrics = metrics;
        _endpoint = endpoint;
        _request = request;
        _llm = llm;
        _arrival = arrival;
        _stop = StopMatcher.For(request, model.Vocabulary);
        _writer = writer;
        _decoderFailed = decoderFailed;
    }

    public async Task RunAsync(ChannelReader<StreamEvent> events)
    {
        _writer.Begin();

        // Never cancelled by the client: after a disconnect the events still come (the
        // cancelled sequence completes), and the metrics count it as aborted.
        while (await events.WaitToReadAsync(CancellationToken.None))
        {
            while (events.TryRead(out StreamEvent e))
            {
                Handle(e);
            }

            await _writer.FlushAsync();
        }
    }

    private static double Seconds(long from, long to) => (to - from) / (double)Stopwatch.Frequency;

    private void Handle(StreamEvent e)
    {
        switch (e.Kind)
        {
            case StreamEventKind.Admitted:
                _metrics.Admitted(_request.PromptIds.Length, Seconds(_arrival, e.Timestamp));
                break;
            case StreamEventKind.Token:
                Token(e.Token, e.Logprobs, e.Timestamp);
                break;
            case StreamEventKind.Completed:
                Completed(e.Completion, e.Timestamp);
                break;
            case StreamEventKind.Failed:
                Failed(e.Error!);
                break;
        }
    }

    private void Token(long token, Harness.Decoding.Sampling.TokenLogprobs? logprobs, long timestamp)
    {
        if (_finish is not null)
        {
            // Decoded after a stop string had ended the request, before its cancellation reached
            // the batch at the next iteration: not part of the answer, its usage or its timings.
            return;
        }

        _produced++;
        if (_produced == 1)
        {
            _first = timestamp;
            _metrics.FirstToken(Seconds(_arrival, timestamp));
        }
        else
        {
            _metrics.NextToken(Seconds(_last, timestamp));
        }

        _last = timestamp;
        string piece = _stop.Add(token, _produced);
        if (_stop.Stopped && _finish is null)
        {
            _finish = "stop";
            _endpoint.Cancel(_llm);
        }

        _writer.Token(piece, token, logprobs, first: _produced == 1);
    }

    private void Completed(LlmCompletion how, long timestamp)
    {
        _finish ??= CompletionWriter.FinishReason(how);
        string tail = _stop.Finish();
        int? maxTokens = _request.MaxTokensGiven ? _request.MaxTokens : null;
        double? decode = _produced > 1 ? Seconds(_first, _last) : null;
        _metrics.Finished(_finish, Seconds(_arrival, timestamp), _request.PromptIds.Length, _produced, maxTokens, decode);
        _writer.Finish(tail, _finish, _produced);
    }

    private void Failed(Exception error)
    {
        _decoderFailed(error);
        _writer.Fail(new ApiError(500, $"The decoder failed: {error.Message}"));
    }
}
