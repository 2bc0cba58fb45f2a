using System.Globalization;
using System.Text.Json;
using Harness.Decoding.Sampling;
using Harness.Tokenization;

namespace Harness.Serving;

/// <summary>Which OpenAI route a request came by: it decides the shapes of the answer.</summary>
public enum ApiRoute
{
    Completions,
    ChatCompletions,
}

/// <summary>
/// One /v1/completions or /v1/chat/completions body, checked and tokenized: the prompt's model ids
/// and what to generate, and how its tokens are sampled (OpenAI's temperature, top_p, seed, penalties
/// and logprobs, vLLM's top_k, min_p and repetition_penalty). Anything the server does not do (several
/// choices, tools...) is refused with 400 and one sentence naming the field; null counts as absent,
/// as in OpenAI's API.
/// </summary>
public sealed class GenerationRequest
{
    /// <summary>Fields taken as they are because they change nothing here (users are not tracked).</summary>
    private static readonly HashSet<string> Ignored = new(StringComparer.Ordinal) { "user", "metadata", "store", "service_tier" };

    private GenerationRequest()
    {
    }

    public required ApiRoute Route { get; init; }

    public required long[] PromptIds { get; init; }

    public required int MaxTokens { get; init; }

    /// <summary>The request set max_tokens (vLLM's histogram of the parameter counts only those).</summary>
    public bool MaxTokensGiven { get; init; }

    public int MinTokens { get; init; }

    public bool IgnoreEos { get; init; }

    public IReadOnlyList<string> Stop { get; init; } = [];

    public bool Stream { get; init; }

    public bool IncludeUsage { get; init; }

    /// <summary>vLLM's return_token_ids: the prompt's and the completion's ids go back with the text.</summary>
    public bool ReturnTokenIds { get; init; }

    /// <summary>How the tokens are picked; its seed is the request's, else set by the server (see <see cref="Seed"/>).</summary>
    public SamplingParams Sampling { get; init; } = SamplingParams.Greedy;

    /// <summary>The request's seed; null: the server draws one.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Parses and checks a body; throws <see cref="ApiError"/> (400, or 404 for another model's name).</summary>
    public static GenerationRequest Parse(JsonElement body, ApiRoute route, ServedModel model)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw ApiError.BadRequest("The request body must be a JSON object.");
        }

        if (InvalidText(body, "") is { } bad)
        {
            const string What = "not valid Unicode text (invalid UTF-8 bytes, or a lone UTF-16 surrogate such as \\ud800)";
            string? at = bad.Path.Length == 0 ? null : bad.Path;
            string message = !bad.Name ? $"{at}: {What}."
                : at is null ? $"A field name is {What}."
                : $"{at}: a field name is {What}.";
            throw ApiError.BadRequest(message, at);
        }

        bool chat = route == ApiRoute.ChatCompletions;
        long[]? prompt = null;
        int? maxTokens = null;
        int minTokens = 0;
        bool stream = false, includeUsage = false, ignoreEos = false, returnIds = false;
        bool streamOptions = false;
        var stop = new List<string>();
        var sampling = SamplingParams.Greedy;
        ulong? seed = null;
        bool? chatLogprobs = null;
        int? topLogprobs = null;
        foreach (JsonProperty p in body.EnumerateObject())
        {
            JsonElement v = p.Value;
            if (v.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            switch (p.Name)
            {
                case "model":
                    string name = v.ValueKind == JsonValueKind.String ? v.GetString()! : throw ApiError.BadRequest("model: must be a string.", "model");
                    if (name != model.Name)
                    {
                        throw new ApiError(404, $"The model '{name}' does not exist; this server serves '{model.Name}'.", "model", "model_not_found");
                    }

                    break;
                case "messages" when chat:
                    prompt = model.Vocabulary.Encode(ChatTemplate.Render(Messages(v), model.Chat));
                    break;
                case "prompt" when !chat:
                    prompt = Prompt(v, model);
                    break;
                case "max_tokens":
                case "max_completion_tokens" when chat:
                    maxTokens = Int(v, p.Name, 1);
                    break;
                case "min_tokens":
                    minTokens = Int(v, p.Name, 0);
                    break;
                case "ignore_eos":
                    ignoreEos = Bool(v, p.Name);
                    break;
                case "return_token_ids":
                    returnIds = Bool(v, p.Name);
                    break;
                case "stream":
                    stream = Bool(v, p.Name);
                    break;
                case "stream_options":
                    streamOptions = true;
                    includeUsage = StreamOptions(v);
                    break;
                case "stop":
                    stop.AddRange(Stops(v));
                    break;
                case "temperature":
                    sampling = sampling with { Temperature = Number(v, p.Name) };
                    break;
                case "top_p":
                    sampling = sampling with { TopP = Number(v, p.Name) };
                    break;
                case "top_k":
                    // vLLM's -1 keeps all tokens, as 0 does.
                    int topK = Int(v, p.Name, -1);
                    sampling = sampling with { TopK = Math.Max(topK, 0) };
                    break;
                case "min_p":
                    sampling = sampling with { MinP = Number(v, p.Name) };
                    break;
                case "repetition_penalty":
                    sampling = sampling with { RepetitionPenalty = Number(v, p.Name) };
                    break;
                case "presence_penalty":
                    sampling = sampling with { PresencePenalty = Number(v, p.Name) };
                    break;
                case "frequency_penalty":
                    sampling = sampling with { FrequencyPenalty = Number(v, p.Name) };
                    break;
                case "seed":
                    seed = v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long s) ? unchecked((ulong)s)
                        : throw ApiError.BadRequest("seed: must be an integer.", "seed");
                    break;
                case "n":
                case "best_of" when !chat:
                    if (Int(v, p.Name, 1) != 1)
                    {
                        throw ApiError.Unsupported(p.Name, "only 1 choice per request is supported");
                    }

                    break;
                case "echo" when !chat:
                    if (Bool(v, p.Name))
                    {
                        throw ApiError.Unsupported(p.Name, "only false is supported");
                    }

                    break;
                case "logprobs" when chat:
                    chatLogprobs = Bool(v, p.Name);
                    break;
                case "top_logprobs" when chat:
                case "logprobs":
                    topLogprobs = Int(v, p.Name, 0);
                    break;
                case "logit_bias":
                    if (v.ValueKind != JsonValueKind.Object || v.EnumerateObject().Any())
                    {
                        throw ApiError.Unsupported(p.Name, "logit biases are not supported");
                    }

                    break;
                case "response_format":
                    if (v.ValueKind != JsonValueKind.Object || !v.TryGetProperty("type", out JsonElement type) || type.ValueKind != JsonValueKind.String || type.GetString() != "text")
                    {
                        throw ApiError.Unsupported(p.Name, "only {\"type\": \"text\"} is supported");
                    }

                    break;
                case "tools":
                case "functions":
                    if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() > 0)
                    {
                        throw ApiError.Unsupported(p.Name, "tool calls are not supported");
                    }

                    break;
                case "tool_choice":
                case "function_call":
                    if (v.ValueKind != JsonValueKind.String || v.GetString() != "none")
                    {
                        throw ApiError.Unsupported(p.Name, "tool calls are not supported");
                    }

                    break;
                case "parallel_tool_calls":
                    Bool(v, p.Name);
                    break;
                default:
                    if (!Ignored.Contains(p.Name))
                    {
                        throw ApiError.Unsupported(p.Name, "this server does not support the field");
                    }

                    break;
            }
        }

        if (prompt is null)
        {
            throw chat ? ApiError.BadRequest("messages: required.", "messages") : ApiError.BadRequest("prompt: required.", "prompt");
        }

        if (streamOptions && !stream)
        {
            throw ApiError.BadRequest("stream_options: only allowed when stream is true.", "stream_options");
        }

        string field = chat ? "messages" : "prompt";
        if (prompt.Length == 0)
        {
            throw ApiError.BadRequest($"{field}: the prompt is empty (0 tokens).", field);
        }

        int room = model.Context - prompt.Length;
        if (maxTokens is { } m && m > room)
        {
            throw new ApiError(400, string.Create(CultureInfo.InvariantCulture, $"This model's maximum context length is {model.Context} tokens. However, you requested {prompt.Length + m} tokens ({prompt.Length} in the {(chat ? "messages" : "prompt")}, {m} for the completion). Please reduce the length of the {(chat ? "messages" : "prompt")} or the completion."), field, "context_length_exceeded");
        }

        if (room < 1)
        {
            throw new ApiError(400, string.Create(CultureInfo.InvariantCulture, $"This model's maximum context length is {model.Context} tokens. However, the {(chat ? "messages" : "prompt")} {(chat ? "are" : "is")} {prompt.Length} tokens, which leaves no room for a completion."), field, "context_length_exceeded");
        }

        sampling = Logprobs(sampling, chat, chatLogprobs, topLogprobs);
        if (sampling.Problem() is { } problem)
        {
            throw ApiError.BadRequest(problem, problem[..problem.IndexOf(' ', StringComparison.Ordinal)]);
        }

        int max = maxTokens ?? (chat ? room : Math.Min(room, ServedModel.DefaultCompletionTokens));
        if (minTokens > max)
        {
            throw ApiError.BadRequest(string.Create(CultureInfo.InvariantCulture, $"min_tokens: {minTokens} is more than max_tokens ({max})."), "min_tokens");
        }

        return new GenerationRequest
        {
            Route = route,
            PromptIds = prompt,
            MaxTokens = max,
            MaxTokensGiven = maxTokens is not null,
            MinTokens = minTokens,
            IgnoreEos = ignoreEos,
            Stop = stop,
            Stream = stream,
            IncludeUsage = includeUsage,
            ReturnTokenIds = returnIds,
            Sampling = sampling,
            Seed = seed,
        };
    }

    /// <summary>
    /// OpenAI's two shapes: chat asks with <c>logprobs: true</c> and <c>top_logprobs: N</c> (which needs
    /// logprobs true); completions with <c>logprobs: N</c> (the chosen token's and N most likely, 0 for the chosen one only).
    /// </summary>
    private static SamplingParams Logprobs(SamplingParams sampling, bool chat, bool? chatLogprobs, int? topLogprobs)
    {
        if (chat)
        {
            if (topLogprobs is > 0 && chatLogprobs != true)
            {
                throw ApiError.BadRequest("top_logprobs: only allowed when logprobs is true.", "top_logprobs");
            }

            return sampling with { Logprobs = chatLogprobs == true, TopLogprobs = topLogprobs ?? 0 };
        }

        if (topLogprobs > SamplingParams.MaxTopLogprobs)
        {
            const int Max = SamplingParams.MaxTopLogprobs;
            throw ApiError.BadRequest(
                string.Create(CultureInfo.InvariantCulture, $"logprobs must be from 0 to {Max}, not {topLogprobs}."), "logprobs");
        }

        return topLogprobs is { } n ? sampling with { Logprobs = true, TopLogprobs = n } : sampling;
    }

    private static List<ChatMessage> Messages(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() == 0)
        {
            throw ApiError.BadRequest("messages: must be a non-empty array.", "messages");
        }

        var messages = new List<ChatMessage>();
        int i = 0;
        foreach (JsonElement m in v.EnumerateArray())
        {
            string at = $"messages[{i}]";
            if (m.ValueKind != JsonValueKind.Object)
            {
                throw ApiError.BadRequest($"{at}: must be an object.", at);
            }

            string? role = null;
            string content = "";
            foreach (JsonProperty p in m.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "role":
                        role = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null;
                        break;
                    case "content":
                        content = Content(p.Value, $"{at}.content");
                        break;
                    case "name":
                        break;
                    default:
                        if (p.Value.ValueKind != JsonValueKind.Null && !(p.Value.ValueKind == JsonValueKind.Array && p.Value.GetArrayLength() == 0))
                        {
                            throw ApiError.Unsupported($"{at}.{p.Name}", "this server does not support the field");
                        }

                        break;
                }
            }

            if (role is not ("system" or "developer" or "user" or "assistant"))
            {
                throw ApiError.BadRequest($"{at}.role: must be system, developer, user or assistant.", $"{at}.role");
            }

            messages.Add(new ChatMessage(role, content));
            i++;
        }

        return messages;
    }

    /// <summary>A string, or an array of text parts (what the SDKs send for multi-part content).</summary>
    private static string Content(JsonElement v, string at)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Null:
                return "";
            case JsonValueKind.String:
                return v.GetString()!;
            case JsonValueKind.Array:
                var text = new System.Text.StringBuilder();
                int j = 0;
                foreach (JsonElement part in v.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object
                        || !part.TryGetProperty("type", out JsonElement t) || t.ValueKind != JsonValueKind.String || t.GetString() != "text"
                        || !part.TryGetProperty("text", out JsonElement s) || s.ValueKind != JsonValueKind.String)
                    {
                        throw ApiError.Unsupported($"{at}[{j}]", "only text parts ({\"type\": \"text\", \"text\": ...}) are supported");
                    }

                    text.Append(s.GetString());
                    j++;
                }

                return text.ToString();
            default:
                throw ApiError.BadRequest($"{at}: must be a string or an array of text parts.", at);
        }
    }

    /// <summary>A string, token ids, or a list holding one of those (one prompt per request).</summary>
    private static long[] Prompt(JsonElement v, ServedModel model, bool nested = false)
    {
        const string Shapes = "prompt: must be a string, an array of token ids, or an array holding one of those.";
        if (v.ValueKind == JsonValueKind.String)
        {
            return model.Vocabulary.Encode(v.GetString()!);
        }

        if (v.ValueKind != JsonValueKind.Array)
        {
            throw ApiError.BadRequest(Shapes, "prompt");
        }

        int n = v.GetArrayLength();
        if (n > 0 && v[0].ValueKind is JsonValueKind.String or JsonValueKind.Array)
        {
            return nested ? throw ApiError.BadRequest(Shapes, "prompt")
                : n == 1 ? Prompt(v[0], model, nested: true)
                : throw ApiError.Unsupported("prompt", "one prompt per request is supported");
        }

        var ids = new long[n];
        int i = 0;
        foreach (JsonElement e in v.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long id) || id < 0 || id >= model.Vocabulary.ModelVocabulary)
            {
                throw ApiError.BadRequest(string.Create(CultureInfo.InvariantCulture, $"prompt[{i}]: token ids are integers from 0 to {model.Vocabulary.ModelVocabulary - 1}."), "prompt");
            }

            ids[i++] = id;
        }

        return ids;
    }

    private static IEnumerable<string> Stops(JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.String)
        {
            return [v.GetString()!];
        }

        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() > 16 || v.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String))
        {
            throw ApiError.BadRequest("stop: must be a string or an array of at most 16 strings.", "stop");
        }

        return v.EnumerateArray().Select(s => s.GetString()!).ToList();
    }

    private static bool StreamOptions(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Object)
        {
            throw ApiError.BadRequest("stream_options: must be an object.", "stream_options");
        }

        bool usage = false;
        foreach (JsonProperty p in v.EnumerateObject())
        {
            if (p.Name == "include_usage")
            {
                usage = p.Value.ValueKind != JsonValueKind.Null && Bool(p.Value, "stream_options.include_usage");
            }
            else if (p.Value.ValueKind != JsonValueKind.Null)
            {
                throw ApiError.Unsupported($"stream_options.{p.Name}", "this server does not support the field");
            }
        }

        return usage;
    }

    /// <summary>
    /// The path (prompt, messages[0].content, stop[1]...) of the first string or field name that does
    /// not decode (JSON text read as UTF-8 may hold invalid bytes, and an escape may leave a lone UTF-16
    /// surrogate: both only fail when the string is read); null when every one decodes.
    /// </summary>
    private static (string Path, bool Name)? InvalidText(JsonElement v, string path)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.String:
                try
                {
                    _ = v.GetString();
                    return null;
                }
                catch (InvalidOperationException)
                {
                    return (path, false);
                }

            case JsonValueKind.Object:
                foreach (JsonProperty p in v.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = p.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return (path, true);
                    }

                    if (InvalidText(p.Value, path.Length == 0 ? name : $"{path}.{name}") is { } bad)
                    {
                        return bad;
                    }
                }

                return null;
            case JsonValueKind.Array:
                int i = 0;
                foreach (JsonElement e in v.EnumerateArray())
                {
                    // Token ids and other scalars hold no text: no path is built for them.
                    if (e.ValueKind is JsonValueKind.String or JsonValueKind.Object or JsonValueKind.Array
                        && InvalidText(e, string.Create(CultureInfo.InvariantCulture, $"{path}[{i}]")) is { } bad)
                    {
                        return bad;
                    }

                    i++;
                }

                return null;
            default:
                return null;
        }
    }

    private static int Int(JsonElement v, string field, int min) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) && n >= min
            ? n
            : throw ApiError.BadRequest(string.Create(CultureInfo.InvariantCulture, $"{field}: must be an integer of at least {min}."), field);

    private static bool Bool(JsonElement v, string field) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw ApiError.BadRequest($"{field}: must be true or false.", field),
    };

    private static double Number(JsonElement v, string field) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && double.IsFinite(d)
            ? d
            : throw ApiError.BadRequest($"{field}: must be a number.", field);
}
