using System.Collections.Concurrent;
using System.Text.Json;
using Harness.Datasets;
using Harness.Decoding;
using Harness.OpenAI.Tests.Server;
using Harness.Results;
using Harness.Tests.Fakes;
using Microsoft.AspNetCore.Http;

namespace Harness.OpenAI.Tests;

/// <summary>
/// What real servers do to connections, against Kestrel on loopback: one that closes the connection
/// shortly after every streamed response without saying so (llama.cpp's server), one that closes at its
/// Keep-Alive max, one that says Connection: close, one with a short Keep-Alive timeout. A request whose
/// reused connection died before any byte of the response is sent again once on a fresh connection and
/// counted; nothing else is retried.
/// </summary>
public sealed class ConnectionHabitsTests : IAsyncLifetime
{
    /// <summary>How long the closing server waits after a response before it closes: time for the client to send again.</summary>
    private static readonly TimeSpan CloseDelay = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, int> _perConnection = new();
    private readonly ConcurrentQueue<long> _closedAt = new();
    private readonly TempDir _dir = new();
    private OpenAiTestServer _server = null!;

    public async Task InitializeAsync() => _server = await OpenAiTestServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public void A_request_on_a_connection_the_server_closed_is_sent_again_on_a_fresh_one_with_ttft_from_its_first_send()
    {
        var second = new StreamingClientTests.TestStream();
        // The server closes once the client is sending its second request, however long the client took to get there.
        _server.Handler = ClosesAfterEachResponse(CloseDelay, () => second.AdmittedAt != 0);
        using var endpoint = new OpenAiEndpoint(_server.BaseUrl, "test-model", new OpenAiSettings(), null);

        StreamingClientTests.TestStream first = RunOne(endpoint);
        RunOne(endpoint, second);

        Assert.Null(first.Error);
        Assert.Null(first.Record.ConnectionRetry);
        Assert.Null(second.Error);
        Assert.Equal(LlmCompletion.Finished, second.Completion);
        Assert.Matches("^(closed|reset) before the response$", second.Record.ConnectionRetry);
        // The first send went out before the server closed the connection under it; TTFT counts from that send.
        Assert.True(_closedAt.TryPeek(out long closed));
        Assert.InRange(closed, second.Record.Sent, second.Record.FirstToken);
        Assert.Equal(2, _server.Completions); // the request the server dropped never reached its handler
    }

    [Fact]
    public void A_response_that_started_and_then_died_is_not_sent_again()
    {
        var second = new StreamingClientTests.TestStream();
        _server.Handler = async (ctx, body) =>
        {
            if (_perConnection.AddOrUpdate(ctx.Connection.Id, 1, (_, n) => n + 1) == 1)
            {
                await Reply(ctx, body);
                return;
            }

            // The second request on the connection: headers and one event, then the connection is gone.
            await OpenAiTestServer.BeginStream(ctx);
            await OpenAiTestServer.Write(ctx, """data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}""" + "\n\n");
            // Reset once the client has read the event (a reset throws away what it has not read).
            var until = DateTime.UtcNow.AddSeconds(10);
            while (second.Tokens == 0 && DateTime.UtcNow < until)
            {
                await Task.Delay(1);
            }

            ctx.Abort();
        };
        using var endpoint = new OpenAiEndpoint(_server.BaseUrl, "test-model", new OpenAiSettings(), null);

        Assert.Null(RunOne(endpoint).Error);
        RunOne(endpoint, second);

        Assert.IsType<RequestFailedException>(second.Error);
        Assert.StartsWith("connection reset after", second.Record.Failure);
        Assert.Null(second.Record.ConnectionRetry);
        Assert.Equal(2, _server.Completions);
        Assert.Single(_perConnection); // both went out on the one connection
    }

    [Fact]
    public void A_fresh_connection_that_dies_before_the_response_is_not_sent_again()
    {
        _server.Handler = (ctx, _) =>
        {
            ctx.Abort();
            return Task.CompletedTask;
        };
        using var endpoint = new OpenAiEndpoint(_server.BaseUrl, "test-model", new OpenAiSettings(), null, new FakeClock());

        StreamingClientTests.TestStream stream = RunOne(endpoint);

        Assert.IsType<RequestFailedException>(stream.Error);
        Assert.StartsWith("connection failed", stream.Record.Failure);
        Assert.Null(stream.Record.ConnectionRetry);
        Assert.Equal(1, _server.Completions);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_connection_carries_no_more_requests_than_the_keep_alive_max(bool countsDown)
    {
        const int Max = 3;
        _server.Handler = async (ctx, body) =>
        {
            int n = _perConnection.AddOrUpdate(ctx.Connection.Id, 1, (_, k) => k + 1);
            // Max each time (cpp-httplib, llama.cpp), or what is left counting this one (Apache counts down).
            ctx.Response.Headers["Keep-Alive"] = $"timeout=5, max={(countsDown ? Max - n + 1 : Max)}";
            await Reply(ctx, body);
            if (n >= Max)
            {
                // The server closes at its max without Connection: close.
                await Task.Delay(CloseDelay);
                CloseAfterThis(ctx);
            }
        };
        using var endpoint = new OpenAiEndpoint(_server.BaseUrl, "test-model", new OpenAiSettings(), null, new FakeClock());

        List<StreamingClientTests.TestStream> streams = [.. Enumerable.Range(0, 10).Select(_ => RunOne(endpoint))];

        Assert.All(streams, s => Assert.Null(s.Error));
        Assert.All(streams, s => Assert.Null(s.Record.ConnectionRetry));
        Assert.Equal(10, _server.Completions);
        Assert.All(_perConnection.Values, n => Assert.InRange(n, 1, Max));
        Assert.Equal(4, _perConnection.Count); // 3 + 3 + 3 + 1: reused up to the max
    }

    [Fact]
    public void A_response_that_says_connection_close_is_not_reused()
    {
        _server.Handler = async (ctx, body) =>
        {
            _perConnection.AddOrUpdate(ctx.Connection.Id, 1, (_, n) => n + 1);
            ctx.Response.Headers.Connection = "close";
            await Reply(ctx, body);
        };
        using var endpoint = new OpenAiEndpoint(_server.BaseUrl, "test-model", new OpenAiSettings(), null, new FakeClock());

        List<StreamingClientTests.TestStream> streams = [.. Enumerable.Range(0, 5).Select(_ => RunOne(endpoint))];

        Assert.All(streams, s => Assert.Null(s.Error));
        Assert.All(streams, s => Assert.Null(s.Record.ConnectionRetry));
        Assert.Equal(5, _perConnection.Count);
    }

    [Fact]
    public void A_connection_idle_past_the_keep_alive_timeout_is_not_reused()
    {
        var order = new ConcurrentQueue<string>();
        _server.Handler = async (ctx, body) =>
        {
            order.Enqueue(ctx.Connection.Id);
            ctx.Response.Headers["Keep-Alive"] = "timeout=4";
            await Reply(ctx, body);
        };
        using var endpoint = new OpenAiEndpoint(_server.BaseUrl, "test-model", new OpenAiSettings(), null, new FakeClock());

        Assert.Null(RunOne(endpoint).Error);
        Assert.Null(RunOne(endpoint).Error);
        // Idle past timeout - 1 s (what SocketsHttpHandler allows, before the server's own timer ends the connection). The
        // 4 s timeout leaves the first two requests 3 s to reuse their connection, however slowly a loaded machine runs them.
        Thread.Sleep(TimeSpan.FromSeconds(3.2));
        Assert.Null(RunOne(endpoint).Error);

        string[] ids = [.. order];
        Assert.Equal(ids[0], ids[1]); // reused while fresh
        Assert.NotEqual(ids[1], ids[2]);
    }

    [Fact]
    public void Five_hundred_requests_at_concurrency_two_against_a_server_that_closes_after_each_stream_all_end_ok_and_retries_are_counted()
    {
        _server.Handler = ClosesAfterEachResponse(TimeSpan.FromMilliseconds(10));
        string path = Path.Combine(_dir.Path, "closing.json");

        (int code, string stdout, string stderr) = GenerateOverHttpTests.Run(
            "run", "generate", "--backend", $"openai:{_server.BaseUrl}", "--dataset", "synthetic:in=8,out=2", "--scenario", "concurrency:2",
            "--duration", "0.2s", "--warmup", "0s", "--min-requests", "500", "--tail", "p50", "--server-metrics", "off", "--no-telemetry",
            "--out", path);

        Assert.True(File.Exists(path), $"exit {code}: {stderr}\n{stdout}");
        Assert.Empty(ResultSchema.Validate(File.ReadAllText(path)));
        ResultDocument doc = ResultReader.ReadDocument(path);
        Assert.True(doc.Metrics.RequestsOk >= 500, $"{doc.Metrics.RequestsOk} ok");
        Assert.Equal(0, doc.Metrics.RequestsFailed);
        Assert.Empty(doc.Errors);
        double retries = doc.Metrics.Value(Metrics.MetricCatalog.ConnectionRetries) ?? 0;
        Assert.True(retries > 0, stdout);
        Assert.Equal(retries, doc.Serving!.ConnectionRetries.Values.Sum());
        Assert.All(doc.Serving!.ConnectionRetries.Keys, k => Assert.Matches("^(closed|reset) before the response$", k));
        Assert.Contains("connection_retries", doc.MetricDefinitions.Keys);
        Assert.Contains("first send", doc.MetricDefinitions["ttft_from_send_ms"], StringComparison.Ordinal);
        Assert.Contains($"Connection retries: {retries:0} (", stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// Answers, then closes the connection <paramref name="delay"/> later (once <paramref name="after"/> holds) without having said
    /// so (no Connection: close).
    /// </summary>
    private Func<HttpContext, JsonElement, Task> ClosesAfterEachResponse(TimeSpan delay, Func<bool>? after = null) => async (ctx, body) =>
    {
        await Reply(ctx, body);
        var until = DateTime.UtcNow.AddSeconds(10);
        while (after is not null && !after() && DateTime.UtcNow < until)
        {
            await Task.Delay(1);
        }

        await Task.Delay(delay);
        _closedAt.Enqueue(System.Diagnostics.Stopwatch.GetTimestamp());
        CloseAfterThis(ctx);
    };

    /// <summary>
    /// Closes the connection when this request's handler returns, as a server does that ends a connection
    /// on its own (FIN; an abort would reset it, and a reset throws away what the client has not read yet).
    /// </summary>
    private static void CloseAfterThis(HttpContext ctx) =>
        ctx.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionLifetimeNotificationFeature>()!.RequestClose();

    /// <summary>
    /// A whole streamed answer of max_tokens one-word chunks in vLLM's shape, written with the body's end
    /// in one send, so the client has the end of the response when it reads [DONE] and its connection goes
    /// back to the pool at once (the next request reuses it).
    /// </summary>
    private static async Task Reply(HttpContext ctx, JsonElement body)
    {
        int max = body.GetProperty("max_tokens").GetInt32();
        await OpenAiTestServer.BeginStream(ctx);
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < max; i++)
        {
            text.Append($$"""data: {"choices":[{"index":0,"delta":{"content":" tok{{i}}"},"finish_reason":null}]}""").Append("\n\n");
        }

        text.Append("""data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}""").Append("\n\n");
        text.Append($$$"""data: {"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":{{{max}}}}}""").Append("\n\ndata: [DONE]\n\n");
        // Into the body's pipe without a flush: CompleteAsync sends it with the last chunk.
        System.IO.Pipelines.PipeWriter pipe = ctx.Response.BodyWriter;
        int n = System.Text.Encoding.UTF8.GetBytes(text.ToString(), pipe.GetSpan(text.Length * 3));
        pipe.Advance(n);
        await ctx.Response.CompleteAsync();
    }

    private static StreamingClientTests.TestStream RunOne(OpenAiEndpoint endpoint, StreamingClientTests.TestStream? stream = null)
    {
        stream ??= new StreamingClientTests.TestStream();
        var request = new LlmRequest { PromptTokens = 2, MaxNewTokens = 2, Messages = [LlmMessage.User("hello there")] };
        endpoint.Run(request, stream, CancellationToken.None);
        return stream;
    }
}
