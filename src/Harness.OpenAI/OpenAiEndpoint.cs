using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Harness.Datasets;
using Harness.Decoding;
using Harness.Measurement;
using Harness.Metrics;
using Harness.OpenAI.Connections;
using Harness.OpenAI.Streaming;

namespace Harness.OpenAI;

/// <summary>
/// An OpenAI-compatible server as a request-level LLM endpoint: each request is one streamed POST
/// to /chat/completions or /completions, read on the calling thread with synchronous I/O (no hop
/// between the socket and the timestamps), parsed as it arrives (<see cref="EventStreamReader"/>) and
/// recorded in the caller's <see cref="StreamRecord"/>: sent, headers, first byte, each event that
/// carried tokens, end, usage. HTTP errors, resets, malformed chunks, an early end and the timeout
/// fail the request with their reason; the one retry is a request whose reused connection died before
/// its response began (<see cref="Send"/>). The server batches on its own, so this
/// endpoint has no batch slots and no device to observe. The API key goes into the Authorization
/// header and nowhere else.
/// </summary>
public sealed class OpenAiEndpoint : ILlmEndpoint
{
    /// <summary>Bytes read from the socket at a time.</summary>
    private const int ReadBuffer = 16 * 1024;

    [ThreadStatic]
    private static ThreadBuffers? t_buffers;

    private readonly HttpClient _http;
    private readonly Uri _route;
    private readonly string? _apiKey;
    private readonly IClock _clock;
    private readonly ITokenCounter? _tokenizer;
    private readonly TimeSpan _timeout;
    private readonly ConcurrentDictionary<LlmRequest, CancellationTokenSource> _submitted = new();

    /// <summary>The client for a request sent again: a fresh connection each time, closed after its response.</summary>
    private readonly Lazy<HttpClient> _fresh = new(() => CreateClient(reuse: false));

    public OpenAiEndpoint(Uri baseUrl, string model, OpenAiSettings settings, string? apiKey, IClock? clock = null, ITokenCounter? tokenizer = null, TimeSpan? timeout = null)
    {
        BaseUrl = baseUrl;
        Model = model;
        Settings = settings;
        _apiKey = apiKey;
        _clock = clock ?? StopwatchClock.Instance;
        _tokenizer = tokenizer;
        _timeout = timeout ?? settings.Timeout ?? OpenAiSettings.DefaultTimeout;
        _route = new Uri(baseUrl.ToString().TrimEnd('/') + (settings.Api == OpenAiApi.Chat ? "/chat/completions" : "/completions"));
        _http = CreateClient();
        Details = new Dictionary<string, object?>
        {
            [ConfigKeys.LlmBackend] = "openai",
            [ConfigKeys.Endpoint] = baseUrl.ToString().TrimEnd('/'),
            [ConfigKeys.Model] = model,
            [ConfigKeys.Api] = settings.Api == OpenAiApi.Chat ? "chat" : "completions",
            [ConfigKeys.MaxTokensField] = settings.MaxTokensField,
            [ConfigKeys.Temperature] = settings.Temperature,
            [ConfigKeys.IncludeUsage] = settings.IncludeUsage,
            [ConfigKeys.RequestTimeoutS] = _timeout.TotalSeconds,
            [ConfigKeys.ApiKey] = apiKey is null ? "none" : "given (not recorded)",
        };
    }

    public Uri BaseUrl { get; }

    public string Model { get; }

    public OpenAiSettings Settings { get; }

    public string Name => $"openai {Model} at {BaseUrl}";

    public IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary>A remote server batches on its own: no slots known here.</summary>
    public int MaxBatch => 0;

    public LlmBatching Batching => LlmBatching.Continuous;

    /// <summary>The client's CPU is on its callers' threads; there is no device thread here.</summary>
    public TimeSpan DriverCpu => TimeSpan.Zero;

    /// <summary>A client for one server: no proxy (the server is measured, not a proxy), no decompression, no connection limit; TLS with the system's trust store.</summary>
    public static HttpClient CreateClient() => CreateClient(reuse: true);

    /// <summary>
    /// The client, its connections made by <see cref="Connect"/> (<see cref="KeepAliveConnection"/>: the
    /// server's Keep-Alive max is followed, and a failed send knows whether its connection was reused).
    /// Without <paramref name="reuse"/> every request gets a fresh connection, closed after its response.
    /// </summary>
    internal static HttpClient CreateClient(bool reuse) =>
        new(new SocketsHttpHandler
        {
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
            PooledConnectionLifetime = reuse ? System.Threading.Timeout.InfiniteTimeSpan : TimeSpan.Zero,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            ConnectCallback = Connect,
        }, disposeHandler: true)
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };

    /// <summary>SocketsHttpHandler's default connect (a dual-mode TCP socket, no Nagle), as a <see cref="KeepAliveConnection"/>.</summary>
    private static async ValueTask<Stream> Connect(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            return new KeepAliveConnection(socket, inspect: context.InitialRequestMessage.RequestUri?.Scheme == Uri.UriSchemeHttp);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Runs the request on a thread of its own (the agents' steps); <see cref="Run"/> is the same on the caller's thread.</summary>
    public void Submit(LlmRequest request, ILlmStream stream)
    {
        var cts = new CancellationTokenSource();
        _submitted[request] = cts;
        var thread = new Thread(() =>
        {
            try
            {
                Run(request, stream, cts.Token);
            }
            finally
            {
                _submitted.TryRemove(request, out _);
                cts.Dispose();
            }
        })
        { IsBackground = true, Name = "harness-openai-request" };
        thread.Start();
    }

    public void Cancel(LlmRequest request)
    {
        if (_submitted.TryGetValue(request, out CancellationTokenSource? cts))
        {
            try
            {
                cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // It ended meanwhile.
            }
        }
    }

    public void Observe(IDeviceObserver observer)
    {
    }

    public void Dispose()
    {
        foreach (CancellationTokenSource cts in _submitted.Values)
        {
            try
            {
                cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        _http.Dispose();
        if (_fresh.IsValueCreated)
        {
            _fresh.Value.Dispose();
        }
    }

    public void Run(LlmRequest request, ILlmStream stream, CancellationToken cancellationToken)
    {
        StreamRecord record = (stream as IRecordingLlmStream)?.Record ?? new StreamRecord();
        bool keepText = record.KeepText;
        record.KeepText = keepText || _tokenizer is not null;
        ThreadBuffers buffers = t_buffers ??= new ThreadBuffers();
        using var timeout = new CancellationTokenSource(_timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        WriteBody(request, buffers);
        using HttpRequestMessage message = Message(buffers);
        HttpRequestMessage? again = null;
        record.Sent = _clock.Timestamp;
        stream.Admitted(request, record.Sent);
        HttpResponseMessage? response = null;
        try
        {
            response = Send(message, buffers, record, ref again, linked.Token);
            record.Headers = _clock.Timestamp;
            record.Status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                Fail(request, stream, record, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase} before the stream: {ErrorBody(response)}{RetryAfter(response)}");
                return;
            }

            if (response.Content.Headers.ContentType?.MediaType is { } type && type != "text/event-stream")
            {
                Fail(request, stream, record, $"the server answered {type}, not an event stream: {ErrorBody(response)}");
                return;
            }

            Read(request, stream, record, response, buffers, linked.Token);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Cancelled(request, stream, record);
        }
        catch (Exception e) when (timeout.IsCancellationRequested && e is OperationCanceledException or IOException or ObjectDisposedException or HttpRequestException)
        {
            record.TimedOut = true;
            string where = record.Headers == 0 ? "before the response headers" : $"after {record.EventCount} events";
            Fail(request, stream, record, $"no end within the {_timeout.TotalSeconds:0.###} s request timeout ({where})");
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is IOException or ObjectDisposedException or HttpRequestException)
        {
            Cancelled(request, stream, record);
        }
        catch (HttpRequestException e)
        {
            Fail(request, stream, record, record.Headers == 0 ? $"connection failed: {Reason(e)}" : $"connection reset after {record.EventCount} events: {Reason(e)}");
        }
        catch (IOException e)
        {
            Fail(request, stream, record, $"connection reset after {record.EventCount} events: {Reason(e)}");
        }
        finally
        {
            response?.Dispose();
            again?.Dispose();
            record.KeepText = keepText;
        }
    }

    /// <summary>
    /// Sends the request. When the reused connection it went out on died before one byte of the response
    /// came back (the server had closed it: llama.cpp's server closes after each streamed response while
    /// its Keep-Alive says otherwise), sends it once more on a fresh connection, as curl and the OpenAI
    /// SDKs do, and notes why in <see cref="StreamRecord.ConnectionRetry"/>. Never after a byte of the
    /// response, never for a fresh connection's failure, never for an HTTP error status; the record's
    /// send time stays the first send's.
    /// </summary>
    private HttpResponseMessage Send(
        HttpRequestMessage message, ThreadBuffers buffers, StreamRecord record, ref HttpRequestMessage? again, CancellationToken token)
    {
        ConnectionUse use = buffers.Use;
        use.Clear();
        ConnectionUse.Current = use;
        try
        {
            return _http.Send(message, HttpCompletionOption.ResponseHeadersRead, token);
        }
        catch (Exception e) when (e is HttpRequestException or IOException
            && !token.IsCancellationRequested && use.Reused && use.NothingReceived)
        {
            record.ConnectionRetry = RetryReason(e);
            use.Clear();
            again = Message(buffers);
            return _fresh.Value.Send(again, HttpCompletionOption.ResponseHeadersRead, token);
        }
        finally
        {
            ConnectionUse.Current = null;
        }
    }

    /// <summary>Why a reused connection failed before the response: the server had closed it (end of stream), or reset it.</summary>
    private static string RetryReason(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            switch (x)
            {
                case HttpIOException { HttpRequestError: HttpRequestError.ResponseEnded }:
                    return "closed before the response";
                case SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted }:
                case SocketException { SocketErrorCode: SocketError.Shutdown }:
                    return "reset before the response";
                case SocketException s:
                    return $"{s.SocketErrorCode} before the response";
            }
        }

        return e is HttpRequestException { HttpRequestError: not HttpRequestError.Unknown and var error }
            ? $"{error} before the response"
            : "failed before the response";
    }

    private static readonly MediaTypeWithQualityHeaderValue EventStream = new("text/event-stream");

    private void Read(LlmRequest request, ILlmStream stream, StreamRecord record, HttpResponseMessage response, ThreadBuffers buffers, CancellationToken token)
    {
        using Stream body = response.Content.ReadAsStream(token);
        // A synchronous read does not watch the token: end the response under it instead.
        using CancellationTokenRegistration abort = token.Register(static r => ((HttpResponseMessage)r!).Dispose(), response);
        EventStreamReader reader = buffers.Reader;
        reader.Reset(record);
        byte[] buffer = buffers.Read;
        StreamState state = StreamState.Reading;
        while (state == StreamState.Reading)
        {
            int n = body.Read(buffer, 0, buffer.Length);
            long now = _clock.Timestamp;
            if (n == 0)
            {
                state = reader.Finish(now);
                break;
            }

            if (record.FirstByte == 0)
            {
                record.FirstByte = now;
            }

            int before = record.EventCount;
            state = reader.Feed(buffer.AsSpan(0, n), now);
            for (int i = before; i < record.EventCount; i++)
            {
                stream.Token(request, -1, now);
            }
        }

        token.ThrowIfCancellationRequested();
        record.End = _clock.Timestamp;
        if (state == StreamState.Failed)
        {
            Fail(request, stream, record, record.Failure!);
            return;
        }

        if (state != StreamState.Done && record.FinishReason is null)
        {
            Fail(request, stream, record, $"the stream ended early: no finish reason and no data: [DONE] after {record.EventCount} events");
            return;
        }

        CountTokens(record);
        stream.Completed(request, LlmCompletion.Finished, record.End);
    }

    /// <summary>Each event's tokens (the tokenizer's count of its text, else the server's usage spread by characters, else one) and the client's own total.</summary>
    private void CountTokens(StreamRecord record)
    {
        if (_tokenizer is null)
        {
            record.SpreadTokens(record.CompletionTokens);
            record.ClientTokens = record.EventCount;
            return;
        }

        string text = record.Text.ToString();
        Span<StreamEvent> events = record.MutableEvents;
        for (int i = 0; i < events.Length; i++)
        {
            int start = Math.Min(events[i].TextStart, text.Length);
            int length = Math.Min(events[i].Chars, text.Length - start);
            events[i].Tokens = Math.Max(1, _tokenizer.Count(text.Substring(start, length)));
        }

        record.TokensFrom = EventTokenSource.Tokenizer;
        record.ClientTokens = _tokenizer.Count(text);
    }

    private void Fail(LlmRequest request, ILlmStream stream, StreamRecord record, string reason)
    {
        record.End = record.End == 0 ? _clock.Timestamp : record.End;
        record.Failure = reason;
        stream.Failed(request, record.TimedOut ? new TimeoutException(reason) : new RequestFailedException(reason));
    }

    private void Cancelled(LlmRequest request, ILlmStream stream, StreamRecord record)
    {
        record.End = _clock.Timestamp;
        stream.Completed(request, LlmCompletion.Cancelled, record.End);
    }

    /// <summary>The POST of the body in <paramref name="buffers"/>: an event stream asked for, the key in its header.</summary>
    private HttpRequestMessage Message(ThreadBuffers buffers)
    {
        var content = new ReadOnlyMemoryContent(buffers.Body.WrittenMemory);
        content.Headers.ContentType = JsonType;
        var message = new HttpRequestMessage(HttpMethod.Post, _route) { Content = content };
        message.Headers.Accept.Add(EventStream);
        if (_apiKey is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        }

        return message;
    }

    private void WriteBody(LlmRequest request, ThreadBuffers buffers)
    {
        ArrayBufferWriter<byte> output = buffers.Body;
        output.ResetWrittenCount();
        Utf8JsonWriter json = buffers.Writer;
        json.Reset(output);
        json.WriteStartObject();
        json.WriteString("model"u8, Model);
        if (Settings.Api == OpenAiApi.Chat)
        {
            json.WriteStartArray("messages"u8);
            foreach (LlmMessage m in Messages(request))
            {
                json.WriteStartObject();
                json.WriteString("role"u8, m.Role);
                json.WriteString("content"u8, m.Content);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }
        else
        {
            json.WriteString("prompt"u8, Prompt(request));
        }

        json.WriteNumber(Settings.MaxTokensField, request.MaxNewTokens);
        switch (Settings.Hold)
        {
            case OutputHold.IgnoreEos:
                json.WriteBoolean("ignore_eos"u8, true);
                break;
            case OutputHold.MinTokens:
                json.WriteNumber("min_tokens"u8, request.MaxNewTokens);
                break;
        }

        if (Settings.Temperature is { } t)
        {
            json.WriteNumber("temperature"u8, t);
        }

        json.WriteBoolean("stream"u8, true);
        if (Settings.IncludeUsage)
        {
            json.WriteStartObject("stream_options"u8);
            json.WriteBoolean("include_usage"u8, true);
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.Flush();
    }

    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    /// <summary>The request's messages, or one user message of its length when it carries none (a token-level caller).</summary>
    private static IReadOnlyList<LlmMessage> Messages(LlmRequest request) =>
        request.Messages.Count > 0 ? request.Messages : [LlmMessage.User(SyntheticText.Of(request.PromptTokens, request.PromptTokens))];

    private static string Prompt(LlmRequest request)
    {
        IReadOnlyList<LlmMessage> messages = Messages(request);
        return messages.Count == 1 ? messages[0].Content : string.Join("\n\n", messages.Select(m => m.Content));
    }

    /// <summary>The server's message from an error body (OpenAI, vLLM, TGI and llama.cpp shapes), else its first characters.</summary>
    private static string ErrorBody(HttpResponseMessage response)
    {
        string text;
        try
        {
            using Stream s = response.Content.ReadAsStream();
            var buffer = new byte[4096];
            int n = 0, r;
            while (n < buffer.Length && (r = s.Read(buffer, n, buffer.Length - n)) > 0)
            {
                n += r;
            }

            text = Encoding.UTF8.GetString(buffer, 0, n).Trim();
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return "(no body)";
        }

        try
        {
            using var doc = JsonDocument.Parse(text);
            JsonElement root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("error", out JsonElement error))
                {
                    if (error.ValueKind == JsonValueKind.String)
                    {
                        return error.GetString()!;
                    }

                    if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out JsonElement m) && m.ValueKind == JsonValueKind.String)
                    {
                        return m.GetString()!;
                    }
                }

                foreach (string key in (ReadOnlySpan<string>)["message", "detail"])
                {
                    if (root.TryGetProperty(key, out JsonElement v) && v.ValueKind == JsonValueKind.String)
                    {
                        return v.GetString()!;
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: the text itself.
        }

        text = text.ReplaceLineEndings(" ");
        return text.Length == 0 ? "(empty body)" : text.Length > 200 ? text[..200] + "..." : text;
    }

    private static string RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter is { } retry ? $" (Retry-After {(retry.Delta is { } d ? $"{d.TotalSeconds:0.###} s" : retry.Date?.ToString("R"))})" : "";

    private static string Reason(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null && parts.Count < 3; x = x.InnerException)
        {
            if (!parts.Contains(x.Message))
            {
                parts.Add(x.Message);
            }
        }

        return string.Join(": ", parts);
    }

    /// <summary>What a worker thread keeps from request to request: the body's buffer and writer, the read buffer, the stream reader.</summary>
    private sealed class ThreadBuffers
    {
        public ArrayBufferWriter<byte> Body { get; } = new(4096);

        public Utf8JsonWriter Writer { get; } = new(Stream.Null);

        public byte[] Read { get; } = new byte[ReadBuffer];

        public EventStreamReader Reader { get; } = new();

        public ConnectionUse Use { get; } = new();
    }
}
