using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Harness.Decoding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Harness.Serving;

/// <summary>
/// <c>harness serve</c>'s HTTP side: Kestrel on explicit addresses in front of an
/// <see cref="InProcessLlmEndpoint"/> (the continuous-batching loop the agents use), with
/// OpenAI's /v1/models, /v1/completions and /v1/chat/completions (streamed as server-sent events or
/// not), /health and /metrics. Each request is tokenized, checked against the context and the
/// queue, submitted, and answered from its token stream; a client that goes away cancels its
/// sequence, which frees its slot at the next iteration boundary. Refusals are OpenAI-shaped JSON
/// with one sentence; nothing a client sees carries a stack trace. The process's signals belong to
/// the caller, which calls <see cref="ShutdownAsync"/>.
/// </summary>
public sealed class LlmServer : IAsyncDisposable
{
    private static readonly JsonWriterOptions JsonOptions = new() { SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly InProcessLlmEndpoint _endpoint;
    private readonly ServedModel _model;
    private readonly ServeOptions _options;
    private readonly TextWriter _log;
    private readonly byte[]? _apiKey;
    private readonly long[] _endTokens;
    private readonly int _capacity;
    private readonly ConcurrentDictionary<LlmRequest, byte> _active = new(ReferenceEqualityComparer.Instance);
    private readonly long _startedUnix = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private WebApplication? _app;
    private int _inFlight;
    private volatile bool _draining;
    private volatile string? _failure;

    /// <param name="log">Where the server says what it does besides answering (errors it hid from a client).</param>
    public LlmServer(InProcessLlmEndpoint endpoint, ServedModel model, ServeOptions options, TextWriter log)
    {
        _endpoint = endpoint;
        _model = model;
        _options = options;
        _log = log;
        _apiKey = options.ApiKey is { } key ? Encoding.UTF8.GetBytes("Bearer " + key) : null;
        _endTokens = [model.Vocabulary.EndOfText];
        _capacity = endpoint.MaxBatch + options.MaxQueue;
        Metrics = new ServerMetrics(endpoint, model);
    }

    public ServerMetrics Metrics { get; }

    /// <summary>Where it listens (the real port when <see cref="ServeOptions.Port"/> was 0); set by <see cref="StartAsync"/>.</summary>
    public Uri? Address { get; private set; }

    /// <summary>Requests being answered now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Binds and starts listening; a port in use or an address it cannot bind is one sentence (exit 2).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        IPAddress address = Resolve(_options.Host);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production, ApplicationName = "harness-serve" });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, CallerOwnsLifetime>();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = ServeOptions.MaxBodyBytes;
            k.Listen(address, _options.Port);
        });
        WebApplication app = builder.Build();
        app.MapGet("/v1/models", Guarded(Models, auth: true));
        app.MapPost("/v1/completions", Guarded(c => Generate(c, ApiRoute.Completions), auth: true));
        app.MapPost("/v1/chat/completions", Guarded(c => Generate(c, ApiRoute.ChatCompletions), auth: true));
        app.MapGet("/health", Guarded(Health, auth: false));
        app.MapGet("/metrics", Guarded(Scrape, auth: false));
        app.MapFallback(Guarded(c => throw new ApiError(404, $"No route {c.Request.Method} {c.Request.Path}; this server has GET /v1/models, POST /v1/completions, POST /v1/chat/completions, GET /health and GET /metrics."), auth: false));
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw HarnessException.BadInput($"Cannot listen on {address}:{_options.Port}: {e.Message}", e);
        }

        _app = app;
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Address = new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal));
    }

    /// <summary>
    /// Stops taking requests (503 from now on), lets the ones in flight finish for up to
    /// <see cref="ServeOptions.ShutdownTimeout"/>, cancels those still running (their streams end
    /// with finish_reason "abort"), then stops listening.
    /// </summary>
    public async Task ShutdownAsync()
    {
        _draining = true;
        var deadline = Stopwatch.StartNew();
        while (InFlight > 0 && deadline.Elapsed < _options.ShutdownTimeout)
        {
            await Task.Delay(20);
        }

        foreach (LlmRequest request in _active.Keys)
        {
            _endpoint.Cancel(request);
        }

        var cancelled = Stopwatch.StartNew();
        while (InFlight > 0 && cancelled.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        if (_app is { } app)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await app.StopAsync(stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.DisposeAsync();
        }
    }

    private static IPAddress Resolve(string host)
    {
        if (host == "localhost")
        {
            return IPAddress.Loopback;
        }

        if (IPAddress.TryParse(host, out IPAddress? ip))
        {
            return ip;
        }

        try
        {
            return Dns.GetHostAddresses(host).FirstOrDefault() ?? throw HarnessException.BadInput($"--host {host} has no address.");
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw HarnessException.BadInput($"--host {host} does not resolve: {e.Message}", e);
        }
    }

    /// <summary>Every route through here: the API key, and errors as one-sentence JSON (never a stack trace).</summary>
    private RequestDelegate Guarded(Func<HttpContext, Task> handler, bool auth) => async context =>
    {
        try
        {
            if (auth && _apiKey is not null && !Authorized(context.Request))
            {
                throw new ApiError(401, "The request has no valid API key (Authorization: Bearer ...).", code: "invalid_api_key");
            }

            await handler(context);
        }
        catch (ApiError e)
        {
            if (e.Status != 404 && e.Status != 401)
            {
                Metrics.Refused(e.Status switch { 429 => "queue_full", 503 => "shutting_down", _ => "invalid" });
            }

            await WriteError(context, e);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left; nothing to answer.
        }
        catch (BadHttpRequestException e)
        {
            Metrics.Refused("invalid");
            await WriteError(context, new ApiError(e.StatusCode, e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"The request body is larger than {ServeOptions.MaxBodyBytes} bytes."
                : "The request could not be read."));
        }
        catch (Exception e)
        {
            _log.WriteLine($"harness serve: {context.Request.Method} {context.Request.Path} failed: {e.GetType().Name}: {e.Message}");
            await WriteError(context, new ApiError(500, "The server failed while answering this request."));
        }
    };

    private bool Authorized(HttpRequest request)
    {
        string given = request.Headers.Authorization.ToString();
        byte[] bytes = Encoding.UTF8.GetBytes(given);
        return CryptographicOperations.FixedTimeEquals(bytes, _apiKey);
    }

    private static async Task WriteError(HttpContext context, ApiError e)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = e.Status;
        if (e.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        context.Response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter, JsonOptions))
        {
            e.WriteTo(json);
        }

        await context.Response.BodyWriter.FlushAsync();
    }

    private Task Models(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter, JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            json.WriteStartObject();
            json.WriteString("id", _model.Name);
            json.WriteString("object", "model");
            json.WriteNumber("created", _startedUnix);
            json.WriteString("owned_by", "harness");
            json.WriteNumber("max_model_len", _model.Context);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return context.Response.BodyWriter.FlushAsync().AsTask();
    }

    private Task Health(HttpContext context)
    {
        string status = _failure is not null ? "failed" : _draining ? "shutting_down" : "ok";
        context.Response.StatusCode = status == "ok" ? 200 : 503;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync($"{{\"status\":\"{status}\"}}");
    }

    private Task Scrape(HttpContext context)
    {
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        return context.Response.WriteAsync(Metrics.Render(), context.RequestAborted);
    }

    private async Task Generate(HttpContext context, ApiRoute route)
    {
        long arrival = Stopwatch.GetTimestamp();
        if (_draining)
        {
            throw new ApiError(503, "The server is shutting down.") { RetryAfterSeconds = 1 };
        }

        GenerationRequest request;
        try
        {
            using JsonDocument body = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
            request = GenerationRequest.Parse(body.RootElement, route, _model);
        }
        catch (JsonException e)
        {
            throw ApiError.BadRequest($"The request body is not valid JSON ({FirstSentence(e.Message)}).");
        }

        if (Interlocked.Increment(ref _inFlight) > _capacity)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new ApiError(429, $"The server is full: {_endpoint.MaxBatch} requests running and {_options.MaxQueue} waiting; try again shortly.", code: "queue_full") { RetryAfterSeconds = 1 };
        }

        var llm = new LlmRequest
        {
            PromptTokens = request.PromptIds.Length,
            PromptIds = request.PromptIds,
            MaxNewTokens = request.MaxTokens,
            EndTokens = request.IgnoreEos ? default : _endTokens,
            MinNewTokens = request.MinTokens,
        };
        var stream = new RequestStream();
        _active[llm] = 0;
        try
        {
            _endpoint.Submit(llm, stream);
            using CancellationTokenRegistration gone = context.RequestAborted.Register(() => _endpoint.Cancel(llm));
            var answer = new Answer(this, context, request, llm, arrival);
            await answer.RunAsync(stream.Reader);
        }
        finally
        {
            _active.TryRemove(llm, out _);
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).TrimEnd('.');
    }

    /// <summary>
    /// One request's answer, built from its events: one SSE chunk per generated token (its text, often
    /// empty while a character or a possible stop string is incomplete), then a chunk with the
    /// finish reason and any held-back text, the usage chunk when asked for, and [DONE]; or, not
    /// streamed, one JSON object at the end. Metrics are recorded as the events come.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The JSON writer is disposed when the answer has been sent (the finally of its send loop).")]
    private sealed class Answer
    {
        private readonly LlmServer _server;
        private readonly HttpContext _context;
        private readonly GenerationRequest _request;
        private readonly LlmRequest _llm;
        private readonly long _arrival;
        private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        private readonly string _id;
        private readonly Tokenization.TextStream _text;
        private readonly PipeWriter _pipe;
        private readonly Utf8JsonWriter _json;
        private readonly StringBuilder? _whole;
        private readonly List<long>? _ids;
        private int _produced;
        private long _first;
        private long _last;
        private string? _finish;
        private bool _clientGone;
        private bool _answered;

        public Answer(LlmServer server, HttpContext context, GenerationRequest request, LlmRequest llm, long arrival)
        {
            _server = server;
            _context = context;
            _request = request;
            _llm = llm;
            _arrival = arrival;
            bool chat = request.Route == ApiRoute.ChatCompletions;
            _id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
            _text = new Tokenization.TextStream(server._model.Vocabulary, request.Stop);
            _pipe = context.Response.BodyWriter;
            _json = new Utf8JsonWriter(_pipe, JsonOptions);
            _whole = request.Stream ? null : new StringBuilder();
            _ids = request.ReturnTokenIds ? [] : null;
        }

        private bool Chat => _request.Route == ApiRoute.ChatCompletions;

        public async Task RunAsync(System.Threading.Channels.ChannelReader<StreamEvent> events)
        {
            try
            {
                if (_request.Stream)
                {
                    _context.Response.ContentType = "text/event-stream";
                    _context.Response.Headers.CacheControl = "no-cache";
                    _context.Response.Headers["X-Accel-Buffering"] = "no";
                }

                // Never cancelled by the client: after a disconnect the events still come (the
                // cancelled sequence completes), and the metrics count it as aborted.
                while (await events.WaitToReadAsync(CancellationToken.None))
                {
                    while (events.TryRead(out StreamEvent e))
                    {
                        Handle(e);
                    }

                    await Flush();
                }
            }
            finally
            {
                await _json.DisposeAsync();
            }
        }

        private static double Seconds(long from, long to) => (to - from) / (double)Stopwatch.Frequency;

        private void Handle(StreamEvent e)
        {
            switch (e.Kind)
            {
                case StreamEventKind.Admitted:
                    _server.Metrics.Admitted(_request.PromptIds.Length, Seconds(_arrival, e.Timestamp));
                    break;
                case StreamEventKind.Token:
                    Token(e.Token, e.Timestamp);
                    break;
                case StreamEventKind.Completed:
                    Completed(e.Completion, e.Timestamp);
                    break;
                case StreamEventKind.Failed:
                    Failed(e.Error!);
                    break;
            }
        }

        private void Token(long token, long timestamp)
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
                _server.Metrics.FirstToken(Seconds(_arrival, timestamp));
            }
            else
            {
                _server.Metrics.NextToken(Seconds(_last, timestamp));
            }

            _last = timestamp;
            _ids?.Add(token);
            // The batcher's rule: an end token past the minimum ends the request and is no text.
            bool end = !_request.IgnoreEos && _produced >= _request.MinTokens && token == _server._model.Vocabulary.EndOfText;
            string piece = end ? "" : _text.Add(token);
            if (_text.Stopped && _finish is null)
            {
                _finish = "stop";
                _server._endpoint.Cancel(_llm);
            }

            if (_whole is not null)
            {
                _whole.Append(piece);
                return;
            }

            Chunk(piece, token, finish: null, first: _produced == 1);
        }

        private void Completed(LlmCompletion how, long timestamp)
        {
            _finish ??= how switch
            {
                LlmCompletion.Finished => "length",
                LlmCompletion.EndToken => "stop",
                _ => "abort",
            };
            string tail = _text.Finish();
            _server.Metrics.Finished(_finish, Seconds(_arrival, timestamp), _request.PromptIds.Length, _produced, _request.MaxTokensGiven ? _request.MaxTokens : null, _produced > 1 ? Seconds(_first, _last) : null);
            if (_whole is not null)
            {
                _whole.Append(tail);
                _answered = true;
                Whole();
                return;
            }

            Chunk(tail, null, _finish, first: _produced == 0);
            if (_request.IncludeUsage)
            {
                Frame(() =>
                {
                    Head("chunk");
                    _json.WriteStartArray("choices");
                    _json.WriteEndArray();
                    Usage();
                    _json.WriteEndObject();
                });
            }

            Write("data: [DONE]\n\n"u8);
        }

        private void Failed(Exception error)
        {
            _server._failure = error.Message;
            _server._log.WriteLine($"harness serve: the decoder failed: {error.Message}");
            var e = new ApiError(500, $"The decoder failed: {error.Message}");
            if (_request.Stream && _context.Response.HasStarted)
            {
                Frame(() => e.WriteTo(_json));
                return;
            }

            _answered = true;
            if (!_clientGone && !_context.Response.HasStarted)
            {
                _context.Response.StatusCode = 500;
                _context.Response.ContentType = "application/json";
                _json.Reset(_pipe);
                e.WriteTo(_json);
                _json.Flush();
            }
        }

        /// <summary>One streamed chunk: a token's text (<paramref name="token"/> set) or the finish.</summary>
        private void Chunk(string text, long? token, string? finish, bool first) => Frame(() =>
        {
            Head("chunk");
            _json.WriteStartArray("choices");
            _json.WriteStartObject();
            _json.WriteNumber("index", 0);
            if (Chat)
            {
                _json.WriteStartObject("delta");
                if (first)
                {
                    _json.WriteString("role", "assistant");
                }

                if (token is not null || text.Length > 0)
                {
                    _json.WriteString("content", text);
                }

                _json.WriteEndObject();
            }
            else
            {
                _json.WriteString("text", text);
            }

            _json.WriteNull("logprobs");
            if (finish is null)
            {
                _json.WriteNull("finish_reason");
            }
            else
            {
                _json.WriteString("finish_reason", finish);
            }

            if (_ids is not null && token is { } t)
            {
                _json.WriteStartArray("token_ids");
                _json.WriteNumberValue(t);
                _json.WriteEndArray();
            }

            _json.WriteEndObject();
            _json.WriteEndArray();
            _json.WriteEndObject();
        });

        private void Whole()
        {
            if (_clientGone)
            {
                return;
            }

            _context.Response.ContentType = "application/json";
            _json.Reset(_pipe);
            Head("whole");
            _json.WriteStartArray("choices");
            _json.WriteStartObject();
            _json.WriteNumber("index", 0);
            if (Chat)
            {
                _json.WriteStartObject("message");
                _json.WriteString("role", "assistant");
                _json.WriteString("content", _whole!.ToString());
                _json.WriteEndObject();
            }
            else
            {
                _json.WriteString("text", _whole!.ToString());
            }

            _json.WriteNull("logprobs");
            _json.WriteString("finish_reason", _finish);
            if (_ids is not null)
            {
                _json.WriteStartArray("token_ids");
                foreach (long id in _ids)
                {
                    _json.WriteNumberValue(id);
                }

                _json.WriteEndArray();
            }

            _json.WriteEndObject();
            _json.WriteEndArray();
            if (_ids is not null)
            {
                _json.WriteStartArray("prompt_token_ids");
                foreach (long id in _request.PromptIds)
                {
                    _json.WriteNumberValue(id);
                }

                _json.WriteEndArray();
            }

            Usage();
            _json.WriteEndObject();
            _json.Flush();
        }

        /// <summary>The fields every answer starts with; <paramref name="kind"/> "chunk" or "whole".</summary>
        private void Head(string kind)
        {
            _json.WriteStartObject();
            _json.WriteString("id", _id);
            _json.WriteString("object", (Chat, kind) switch
            {
                (true, "chunk") => "chat.completion.chunk",
                (true, _) => "chat.completion",
                _ => "text_completion",
            });
            _json.WriteNumber("created", _created);
            _json.WriteString("model", _server._model.Name);
        }

        private void Usage()
        {
            _json.WriteStartObject("usage");
            _json.WriteNumber("prompt_tokens", _request.PromptIds.Length);
            _json.WriteNumber("completion_tokens", _produced);
            _json.WriteNumber("total_tokens", _request.PromptIds.Length + _produced);
            _json.WriteEndObject();
        }

        /// <summary>One server-sent event: "data: " + JSON + a blank line.</summary>
        private void Frame(Action write)
        {
            if (_clientGone)
            {
                return;
            }

            Write("data: "u8);
            _json.Reset(_pipe);
            write();
            _json.Flush();
            Write("\n\n"u8);
        }

        private void Write(ReadOnlySpan<byte> bytes)
        {
            if (!_clientGone)
            {
                _pipe.Write(bytes);
            }
        }

        private async Task Flush()
        {
            // Not streamed: nothing goes out (not even the headers) until the whole answer is written.
            if (_clientGone || (!_request.Stream && !_answered))
            {
                return;
            }

            try
            {
                FlushResult r = await _pipe.FlushAsync(_context.RequestAborted);
                _clientGone = r.IsCanceled || r.IsCompleted;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionResetException)
            {
                _clientGone = true;
            }
        }
    }

    /// <summary>The host does not handle SIGTERM or Ctrl-C: <c>harness serve</c> does, and drains first.</summary>
    private sealed class CallerOwnsLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
