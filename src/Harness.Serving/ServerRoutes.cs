using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Harness.Decoding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Harness.Serving;

/// <summary>
/// The server's routes: OpenAI's /v1/models, /v1/completions and /v1/chat/completions, /health and
/// /metrics. Every route goes through one guard (the API key on /v1, errors as OpenAI-shaped JSON
/// with one sentence, never a stack trace). A generation request is parsed, admitted against the
/// slots and the queue (429 beyond them, 503 while draining), submitted, and answered from its
/// token stream by a <see cref="GenerationAnswer"/>; a client that goes away cancels its sequence.
/// </summary>
internal sealed class ServerRoutes
{
    private const string RouteList =
        "this server has GET /v1/models, POST /v1/completions, POST /v1/chat/completions, GET /health and GET /metrics.";

    private readonly InProcessLlmEndpoint _endpoint;
    private readonly ServedModel _model;
    private readonly ServeOptions _options;
    private readonly ServerMetrics _metrics;
    private readonly TextWriter _log;
    private readonly byte[]? _apiKey;
    private readonly long[] _endTokens;
    private readonly int _capacity;
    private readonly ConcurrentDictionary<LlmRequest, byte> _active = new(ReferenceEqualityComparer.Instance);
    private readonly long _startedUnix = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private int _inFlight;
    private volatile bool _draining;
    private volatile string? _failure;

    /// <param name="log">Where errors hidden from a client are told.</param>
    public ServerRoutes(InProcessLlmEndpoint endpoint, ServedModel model, ServeOptions options, ServerMetrics metrics, TextWriter log)
    {
        _endpoint = endpoint;
        _model = model;
        _options = options;
        _metrics = metrics;
        _log = log;
        _apiKey = options.ApiKey is { } key ? Encoding.UTF8.GetBytes("Bearer " + key) : null;
        _endTokens = [model.Vocabulary.EndOfText];
        _capacity = endpoint.MaxBatch + options.MaxQueue;
    }

    /// <summary>Generation requests being answered now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public void Map(WebApplication app)
    {
        app.MapGet("/v1/models", Guarded(Models, auth: true));
        app.MapPost("/v1/completions", Guarded(c => Generate(c, ApiRoute.Completions), auth: true));
        app.MapPost("/v1/chat/completions", Guarded(c => Generate(c, ApiRoute.ChatCompletions), auth: true));
        app.MapGet("/health", Guarded(Health, auth: false));
        app.MapGet("/metrics", Guarded(Scrape, auth: false));
        app.MapFallback(Guarded(c => throw new ApiError(404, $"No route {c.Request.Method} {c.Request.Path}; {RouteList}"), auth: false));
    }

    /// <summary>From now on a generation request gets 503, and /health says shutting_down.</summary>
    public void Drain() => _draining = true;

    /// <summary>Cancels every request in flight (their streams end with finish_reason "abort").</summary>
    public void CancelAll()
    {
        foreach (LlmRequest request in _active.Keys)
        {
            _endpoint.Cancel(request);
        }
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
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter, CompletionWriter.JsonOptions))
        {
            e.WriteTo(json);
        }

        await context.Response.BodyWriter.FlushAsync();
    }

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).TrimEnd('.');
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
                _metrics.Refused(e.Status switch { 429 => "queue_full", 503 => "shutting_down", _ => "invalid" });
            }

            await WriteError(context, e);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left; nothing to answer.
        }
        catch (BadHttpRequestException e)
        {
            _metrics.Refused("invalid");
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

    private Task Models(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter, CompletionWriter.JsonOptions))
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
        return context.Response.WriteAsync(_metrics.Render(), context.RequestAborted);
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
            throw new ApiError(
                429,
                $"The server is full: {_endpoint.MaxBatch} requests running and {_options.MaxQueue} waiting; try again shortly.",
                code: "queue_full") { RetryAfterSeconds = 1 };
        }

        var llm = new LlmRequest
        {
            PromptTokens = request.PromptIds.Length,
            PromptIds = request.PromptIds,
            MaxNewTokens = request.MaxTokens,
            EndTokens = request.IgnoreEos ? default : _endTokens,
            MinNewTokens = request.MinTokens,
            Sampling = request.Sampling with { Seed = request.Seed ?? DrawSeed() },
        };
        var stream = new RequestStream();
        _active[llm] = 0;
        try
        {
            _endpoint.Submit(llm, stream);
            using CancellationTokenRegistration gone = context.RequestAborted.Register(() => _endpoint.Cancel(llm));
            await using var writer = new CompletionWriter(context, request, _model.Name, _model.Vocabulary);
            var answer = new GenerationAnswer(_metrics, _endpoint, _model, request, llm, arrival, writer, DecoderFailed);
            await answer.RunAsync(stream.Reader);
        }
        finally
        {
            _active.TryRemove(llm, out _);
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>A request without a seed gets one from the server's random numbers.</summary>
    private static ulong DrawSeed() => unchecked((ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue));

    private void DecoderFailed(Exception error)
    {
        _failure = error.Message;
        _log.WriteLine($"harness serve: the decoder failed: {error.Message}");
    }
}
