using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Harness.Decoding;
using Harness.Decoding.Sampling;
using Harness.Tokenization;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace Harness.Serving;

/// <summary>
/// One completion in OpenAI's wire format. Streamed: one server-sent event per generated token (its
/// text, often empty while a character or a possible stop string is incomplete; the chat route's
/// first chunk carries the assistant's role), then a chunk with the finish reason and any held-back
/// text, the usage chunk (empty choices) when stream_options.include_usage asked for it, and
/// <c>data: [DONE]</c>. Not streamed: the text is gathered and one JSON object goes out at the end,
/// with the prompt's and the completion's ids when return_token_ids asked for them. Log-probabilities,
/// when asked, in OpenAI's shape of the route: chat's <c>logprobs.content</c> entries (token, logprob,
/// bytes, top_logprobs), completions' <c>tokens</c>, <c>token_logprobs</c>, <c>top_logprobs</c> and
/// <c>text_offset</c>; each chunk carries its token's. A client that has gone is written nothing more.
/// </summary>
internal sealed class CompletionWriter : IAsyncDisposable
{
    /// <summary>How every JSON answer of the server is written (no escaping of text a JSON reader takes as it is).</summary>
    public static readonly JsonWriterOptions JsonOptions = new()
    {
        SkipValidation = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly HttpContext _context;
    private readonly GenerationRequest _request;
    private readonly string _model;
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private readonly string _id;
    private readonly PipeWriter _pipe;
    private readonly Utf8JsonWriter _json;
    private readonly StringBuilder? _whole;
    private readonly List<long>? _ids;
    private readonly VocabularyMap? _vocabulary;
    private readonly List<TokenLogprobs>? _gathered;
    private readonly TokenLogprobs[] _one = new TokenLogprobs[1];
    private int _textOffset;
    private bool _clientGone;
    private bool _answered;

    /// <param name="model">The served model's name, as each answer says it.</param>
    /// <param name="vocabulary">Gives each token's text in log-probabilities (ids as text without it).</param>
    public CompletionWriter(HttpContext context, GenerationRequest request, string model, VocabularyMap? vocabulary = null)
    {
        _vocabulary = vocabulary;
        _context = context;
        _request = request;
        _model = model;
        _id = (Chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
        _pipe = context.Response.BodyWriter;
        _json = new Utf8JsonWriter(_pipe, JsonOptions);
        _whole = request.Stream ? null : new StringBuilder();
        _ids = request.ReturnTokenIds ? [] : null;
        _gathered = request.Stream || !AsksLogprobs ? null : [];
    }

    private bool Chat => _request.Route == ApiRoute.ChatCompletions;

    private bool AsksLogprobs => _request.Sampling.Logprobs || _request.Sampling.TopLogprobs > 0;

    /// <summary>OpenAI's finish_reason for how the sequence ended (when no stop string ended it first).</summary>
    public static string FinishReason(LlmCompletion how) => how switch
    {
        LlmCompletion.Finished => "length",
        LlmCompletion.EndToken => "stop",
        _ => "abort",
    };

    /// <summary>The headers of a stream of server-sent events (nothing for an answer that is not streamed).</summary>
    public void Begin()
    {
        if (_request.Stream)
        {
            _context.Response.ContentType = "text/event-stream";
            _context.Response.Headers.CacheControl = "no-cache";
            _context.Response.Headers["X-Accel-Buffering"] = "no";
        }
    }

    /// <summary>A generated token and the text it adds now: its chunk, or gathered for the whole answer.</summary>
    /// <param name="first">The first token of the completion (the chat route's first chunk says the role).</param>
    public void Token(string text, long token, bool first) => Token(text, token, null, first);

    /// <summary>A generated token, the text it adds now and its log-probabilities (null when not asked).</summary>
    public void Token(string text, long token, TokenLogprobs? logprobs, bool first)
    {
        _ids?.Add(token);
        if (_whole is not null)
        {
            _whole.Append(text);
            if (logprobs is not null)
            {
                _gathered?.Add(logprobs);
            }

            return;
        }

        Chunk(text, token, finish: null, first, logprobs);
    }

    /// <summary>
    /// The end: streamed, the finish chunk with <paramref name="tail"/>, the usage chunk if asked for and
    /// [DONE]; otherwise the whole answer.
    /// </summary>
    /// <param name="tail">Text held back until the end.</param>
    /// <param name="completionTokens">
    /// Tokens of the completion (usage), as many as <see cref="Token(string, long, TokenLogprobs?, bool)"/> was given.
    /// </param>
    public void Finish(string tail, string finishReason, int completionTokens)
    {
        if (_whole is not null)
        {
            _whole.Append(tail);
            _answered = true;
            Whole(finishReason, completionTokens);
            return;
        }

        Chunk(tail, null, finishReason, first: completionTokens == 0);
        if (_request.IncludeUsage)
        {
            Frame(() =>
            {
                Head("chunk");
                _json.WriteStartArray("choices");
                _json.WriteEndArray();
                Usage(completionTokens);
                _json.WriteEndObject();
            });
        }

        Write("data: [DONE]\n\n"u8);
    }

    /// <summary>A failure: an error event in a stream already under way, else the error as the whole answer.</summary>
    public void Fail(ApiError e)
    {
        if (_request.Stream && _context.Response.HasStarted)
        {
            Frame(() => e.WriteTo(_json));
            return;
        }

        _answered = true;
        if (!_clientGone && !_context.Response.HasStarted)
        {
            _context.Response.StatusCode = e.Status;
            _context.Response.ContentType = "application/json";
            _json.Reset(_pipe);
            e.WriteTo(_json);
            _json.Flush();
        }
    }

    /// <summary>Sends what was written; notes a client that has gone.</summary>
    public async Task FlushAsync()
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

    public ValueTask DisposeAsync() => _json.DisposeAsync();

    /// <summary>One streamed chunk: a token's text (<paramref name="token"/> set) or the finish.</summary>
    private void Chunk(string text, long? token, string? finish, bool first, TokenLogprobs? logprobs = null) => Frame(() =>
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

        if (logprobs is not null && AsksLogprobs)
        {
            _one[0] = logprobs;
            WriteLogprobs(_one);
        }
        else
        {
            _json.WriteNull("logprobs");
        }

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

    private void Whole(string finishReason, int completionTokens)
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

        if (_gathered is not null)
        {
            WriteLogprobs(_gathered);
        }
        else
        {
            _json.WriteNull("logprobs");
        }

        _json.WriteString("finish_reason", finishReason);
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

        Usage(completionTokens);
        _json.WriteEndObject();
        _json.Flush();
    }

    /// <summary>The <c>logprobs</c> field of a choice, in the route's shape, for <paramref name="entries"/> in order.</summary>
    private void WriteLogprobs(IReadOnlyList<TokenLogprobs> entries)
    {
        _json.WriteStartObject("logprobs");
        if (Chat)
        {
            _json.WriteStartArray("content");
            foreach (TokenLogprobs e in entries)
            {
                _json.WriteStartObject();
                ChatEntry(e.Token, e.Logprob);
                _json.WriteStartArray("top_logprobs");
                foreach ((long token, float logprob) in e.Top)
                {
                    _json.WriteStartObject();
                    ChatEntry(token, logprob);
                    _json.WriteEndObject();
                }

                _json.WriteEndArray();
                _json.WriteEndObject();
            }

            _json.WriteEndArray();
            _json.WriteEndObject();
            return;
        }

        _json.WriteStartArray("tokens");
        foreach (TokenLogprobs e in entries)
        {
            _json.WriteStringValue(Text(e.Token));
        }

        _json.WriteEndArray();
        _json.WriteStartArray("token_logprobs");
        foreach (TokenLogprobs e in entries)
        {
            _json.WriteNumberValue(e.Logprob);
        }

        _json.WriteEndArray();
        _json.WriteStartArray("top_logprobs");
        foreach (TokenLogprobs e in entries)
        {
            _json.WriteStartObject();
            foreach ((long token, float logprob) in e.Top)
            {
                _json.WriteNumber(Text(token), logprob);
            }

            _json.WriteEndObject();
        }

        _json.WriteEndArray();
        _json.WriteStartArray("text_offset");
        foreach (TokenLogprobs e in entries)
        {
            _json.WriteNumberValue(_textOffset);
            _textOffset += Text(e.Token).Length;
        }

        _json.WriteEndArray();
        _json.WriteEndObject();
    }

    /// <summary>A chat log-probability entry's token, logprob and bytes.</summary>
    private void ChatEntry(long token, float logprob)
    {
        string text = Text(token);
        _json.WriteString("token", text);
        _json.WriteNumber("logprob", logprob);
        _json.WriteStartArray("bytes");
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            _json.WriteNumberValue(b);
        }

        _json.WriteEndArray();
    }

    /// <summary>One token's text (its id as text where the server has no vocabulary).</summary>
    private string Text(long token) =>
        _vocabulary?.Decode([token]) ?? token.ToString(System.Globalization.CultureInfo.InvariantCulture);

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
        _json.WriteString("model", _model);
    }

    private void Usage(int completionTokens)
    {
        _json.WriteStartObject("usage");
        _json.WriteNumber("prompt_tokens", _request.PromptIds.Length);
        _json.WriteNumber("completion_tokens", completionTokens);
        _json.WriteNumber("total_tokens", _request.PromptIds.Length + completionTokens);
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
}
