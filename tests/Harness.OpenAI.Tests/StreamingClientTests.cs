using System.Text.Json;
using Harness.Datasets;
using Harness.Decoding;
using Harness.OpenAI.Tests.Server;
using Harness.Tests.Fakes;
using Microsoft.AspNetCore.Http;

namespace Harness.OpenAI.Tests;

/// <summary>
/// The streaming client against a real Kestrel server on loopback replaying exact transcripts on a
/// controllable clock: every timestamp the client takes is a step's, so TTFT, TTFO, the token count
/// and the per-event ITL are checked exactly, and each failure by its reason.
/// </summary>
public sealed class StreamingClientTests : IAsyncLifetime
{
    private OpenAiTestServer _server = null!;

    public async Task InitializeAsync() => _server = await OpenAiTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [MemberData(nameof(Transcripts.Shapes), MemberType = typeof(Transcripts))]
    public void Transcript_gives_exact_first_token_times_counts_and_gaps(Transcript transcript)
    {
        (StreamRecord r, TestStream stream, FakeClock clock) = Replay(transcript);

        Assert.Null(stream.Error);
        Assert.Equal(LlmCompletion.Finished, stream.Completion);
        double Ms(long ticks) => ticks * 1000.0 / clock.Frequency;
        Assert.Equal(transcript.TtftMs, Ms(r.FirstToken - r.Sent));
        Assert.Equal(transcript.TtfoMs, Ms(r.FirstOutput - r.Sent));
        Assert.Equal(transcript.Events, r.EventCount);
        Assert.Equal(transcript.UsageTokens, r.CompletionTokens);
        Assert.Equal(transcript.UsageTokens, r.EventTokens);
        Assert.Equal(transcript.Events, stream.Tokens);
        double[] gaps = Enumerable.Range(1, r.EventCount - 1).Select(i => Ms(r.Events[i].Timestamp - r.Events[i - 1].Timestamp)).ToArray();
        Assert.Equal(transcript.ItlEventMs, gaps);
        Assert.True(r.Done);
    }

    [Fact]
    public void Several_tokens_in_one_chunk_share_the_usage_count_by_characters()
    {
        (StreamRecord r, _, _) = Replay(Transcripts.OpenAi);

        // "Hello, world" (12 chars), " how are" (8), " you?" (5) carry the 6 tokens of usage in proportion (2.88, 1.92, 1.2; largest remainder).
        Assert.Equal([3, 2, 1], r.Events.ToArray().Select(e => e.Tokens));
        Assert.Equal(EventTokenSource.Usage, r.TokensFrom);
        Assert.Equal(16, r.CachedTokens);
        Assert.Equal(30, r.PromptTokens);
        Assert.Equal(3, r.ClientTokens);
    }

    [Fact]
    public void Reasoning_counts_for_ttft_not_ttfo_and_kept_text_holds_both()
    {
        var stream = new TestStream();
        stream.Record.KeepText = true;
        (StreamRecord r, _, _) = Replay(Transcripts.Sglang, stream);

        Assert.Equal("Let me thinkAnswer", r.Text.ToString());
        Assert.Equal("Answer", r.Answer.ToString());
        Assert.Equal(StreamEventKind.Reasoning, r.Events[0].Kind);
        Assert.Equal(StreamEventKind.Content, r.Events[2].Kind);
        Assert.Equal(2, r.Comments);
        Assert.Equal(3, r.EmptyEvents); // role-only, finish-only, usage-only
    }

    [Fact]
    public void A_character_split_between_two_writes_arrives_whole()
    {
        var stream = new TestStream();
        stream.Record.KeepText = true;
        (StreamRecord r, _, _) = Replay(Transcripts.LlamaCpp, stream);

        Assert.Equal("hmmcafé au lait", r.Text.ToString());
        Assert.DoesNotContain('\uFFFD', r.Text.ToString());
    }

    [Theory]
    [MemberData(nameof(Transcripts.Failures), MemberType = typeof(Transcripts))]
    public void A_broken_stream_fails_the_request_with_its_reason(Transcript transcript)
    {
        (StreamRecord r, TestStream stream, _) = Replay(transcript);

        Assert.IsType<RequestFailedException>(stream.Error);
        Assert.StartsWith(transcript.Failure!, r.Failure);
        Assert.False(r.TimedOut);
        Assert.Equal(1, _server.Completions); // never retried
    }

    [Fact]
    public void A_server_that_stalls_past_the_timeout_times_out()
    {
        (StreamRecord r, TestStream stream, _) = Replay(Transcripts.Stall, timeout: TimeSpan.FromSeconds(3));

        Assert.IsType<TimeoutException>(stream.Error);
        Assert.True(r.TimedOut);
        Assert.Equal(Transcripts.Stall.Failure, r.Failure);
        Assert.Equal(1, _server.Completions);
    }

    [Theory]
    [InlineData(429, """{"error":{"message":"Rate limit reached","type":"rate_limit"}}""", "HTTP 429 Too Many Requests before the stream: Rate limit reached (Retry-After 2 s)")]
    [InlineData(500, "upstream crashed", "HTTP 500 Internal Server Error before the stream: upstream crashed")]
    [InlineData(400, """{"object":"error","message":"max_tokens is too large","type":"BadRequestError","code":400}""", "HTTP 400 Bad Request before the stream: max_tokens is too large")]
    public void An_http_error_before_the_stream_fails_once_with_the_servers_message(int status, string body, string reason)
    {
        _server.Handler = async (ctx, _) =>
        {
            ctx.Response.StatusCode = status;
            if (status == 429)
            {
                ctx.Response.Headers.RetryAfter = "2";
            }

            await ctx.Response.WriteAsync(body);
        };
        var stream = new TestStream();
        using var endpoint = new OpenAiEndpoint(_server.BaseUrl, "test-model", new OpenAiSettings(), "sk-secret-test-key", new FakeClock());

        endpoint.Run(Request(), stream, CancellationToken.None);

        Assert.IsType<RequestFailedException>(stream.Error);
        Assert.Equal(reason, stream.Record.Failure);
        Assert.Equal(status, stream.Record.Status);
        Assert.DoesNotContain("sk-secret", stream.Record.Failure);
        Assert.Equal(1, _server.Completions);
    }

    [Fact]
    public void The_request_asks_for_a_stream_with_usage_the_length_held_and_the_key_only_in_its_header()
    {
        string? authorization = null;
        _server.Handler = async (ctx, _) =>
        {
            authorization = ctx.Request.Headers.Authorization;
            await Transcripts.Vllm.Replay(new FakeClock(), () => int.MaxValue)(ctx, default);
        };
        var stream = new TestStream();
        using var endpoint = new OpenAiEndpoint(_server.BaseUrl, "test-model", new OpenAiSettings(), "sk-secret-test-key", new FakeClock());

        endpoint.Run(Request(maxTokens: 3), stream, CancellationToken.None);

        Assert.Null(stream.Error);
        Assert.Equal("Bearer sk-secret-test-key", authorization);
        Assert.True(_server.Bodies.TryDequeue(out JsonElement body));
        Assert.Equal("test-model", body.GetProperty("model").GetString());
        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.True(body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal(3, body.GetProperty("max_tokens").GetInt32());
        Assert.True(body.GetProperty("ignore_eos").GetBoolean());
        Assert.Equal("user", body.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.DoesNotContain("sk-secret", JsonSerializer.Serialize(endpoint.Details));
    }

    [Fact]
    public void Completions_route_sends_a_prompt_and_reads_text_chunks()
    {
        _server.Handler = async (ctx, _) =>
        {
            Assert.EndsWith("/v1/completions", ctx.Request.Path.Value);
            await OpenAiTestServer.BeginStream(ctx);
            foreach (string text in new[] { "a", "b" })
            {
                await OpenAiTestServer.Write(ctx, $$"""data: {"id":"cmpl-1","object":"text_completion","choices":[{"index":0,"text":"{{text}}","finish_reason":null}]}""" + "\n\n");
            }

            // llama.cpp's completions: usage on the finish chunk, no separate usage chunk.
            await OpenAiTestServer.Write(ctx, """data: {"choices":[{"index":0,"text":"","finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":2}}""" + "\n\ndata: [DONE]\n\n");
        };
        var stream = new TestStream();
        using var endpoint = new OpenAiEndpoint(_server.BaseUrl, "test-model", new OpenAiSettings { Api = OpenAiApi.Completions, Hold = OutputHold.MinTokens }, null, new FakeClock());

        endpoint.Run(Request(maxTokens: 2), stream, CancellationToken.None);

        Assert.Null(stream.Error);
        Assert.Equal(2, stream.Record.EventCount);
        Assert.Equal(2, stream.Record.CompletionTokens);
        Assert.True(_server.Bodies.TryDequeue(out JsonElement body));
        Assert.Equal("hello there", body.GetProperty("prompt").GetString());
        Assert.Equal(2, body.GetProperty("min_tokens").GetInt32());
        Assert.False(body.TryGetProperty("ignore_eos", out _));
    }

    private (StreamRecord Record, TestStream Stream, FakeClock Clock) Replay(Transcript transcript, TestStream? stream = null, TimeSpan? timeout = null)
    {
        var clock = new FakeClock();
        stream ??= new TestStream();
        TestStream s = stream;
        _server.Handler = transcript.Replay(clock, () => Transcript.Consumed(s.Record));
        using var endpoint = new OpenAiEndpoint(_server.BaseUrl, "test-model", new OpenAiSettings(), null, clock, timeout: timeout ?? TimeSpan.FromSeconds(20));
        endpoint.Run(Request(), stream, CancellationToken.None);
        return (stream.Record, stream, clock);
    }

    private static LlmRequest Request(int maxTokens = 3) => new() { PromptTokens = 2, MaxNewTokens = maxTokens, Messages = [LlmMessage.User("hello there")] };

    /// <summary>A caller's stream: keeps the record and how the request ended.</summary>
    internal sealed class TestStream : IRecordingLlmStream
    {
        public StreamRecord Record { get; } = new();

        public Exception? Error { get; private set; }

        public LlmCompletion? Completion { get; private set; }

        public int Tokens { get; private set; }

        public long AdmittedAt { get; private set; }

        public void Admitted(LlmRequest request, long timestamp) => AdmittedAt = timestamp;

        public void Token(LlmRequest request, long token, long timestamp) => Tokens++;

        public void Completed(LlmRequest request, LlmCompletion completion, long timestamp) => Completion = completion;

        public void Failed(LlmRequest request, Exception error) => Error = error;
    }
}
