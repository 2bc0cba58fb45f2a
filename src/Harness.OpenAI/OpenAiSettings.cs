using System.Globalization;
using Harness.Backends;

namespace Harness.OpenAI;

/// <summary>Which OpenAI route the requests go to.</summary>
public enum OpenAiApi
{
    /// <summary>/chat/completions with messages.</summary>
    Chat,

    /// <summary>/completions with a prompt (the messages' contents joined).</summary>
    Completions,
}

/// <summary>How the output length is held at max_tokens.</summary>
public enum OutputHold
{
    /// <summary><c>ignore_eos: true</c> (vLLM, SGLang, TensorRT-LLM, llama.cpp).</summary>
    IgnoreEos,

    /// <summary><c>min_tokens</c> = max_tokens (vLLM; servers that take min_tokens).</summary>
    MinTokens,

    /// <summary>Neither (OpenAI's own API refuses unknown fields): the output may end early, which the result shows.</summary>
    None,
}

/// <summary>
/// The <c>--set</c> settings of <c>openai:URL</c>: <c>model</c> (default: the only model /models
/// lists), <c>api</c> (chat | completions), <c>hold</c> (ignore_eos | min_tokens | none),
/// <c>max_tokens_field</c> (max_tokens | max_completion_tokens), <c>temperature</c> (0 by default,
/// <c>none</c> to leave it to the server), <c>include_usage</c> (1 by default) and <c>timeout</c>
/// (a request's limit when <c>--timeout</c> is not given). Anything else is refused by name.
/// </summary>
public sealed record OpenAiSettings
{
    public static readonly IReadOnlyList<string> Keys = ["model", "api", "hold", "max_tokens_field", "temperature", "include_usage", "timeout"];

    /// <summary>A request has at most this long unless --timeout says otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

    public string? Model { get; init; }

    public OpenAiApi Api { get; init; } = OpenAiApi.Chat;

    public OutputHold Hold { get; init; } = OutputHold.IgnoreEos;

    public string MaxTokensField { get; init; } = "max_tokens";

    /// <summary>null leaves the sampling temperature to the server.</summary>
    public double? Temperature { get; init; } = 0;

    public bool IncludeUsage { get; init; } = true;

    public TimeSpan? Timeout { get; init; }

    public string HoldName => Hold switch
    {
        OutputHold.IgnoreEos => "ignore_eos",
        OutputHold.MinTokens => "min_tokens",
        _ => "none",
    };

    public static OpenAiSettings From(WorkloadOptions options)
    {
        IReadOnlyDictionary<string, string> x = options.Extra;
        foreach (string key in x.Keys)
        {
            if (!Keys.Contains(key, StringComparer.Ordinal) && !Keys.Contains(key.Replace('-', '_'), StringComparer.Ordinal))
            {
                throw HarnessException.BadInput($"--set {key} is not a setting of openai:URL; known: {string.Join(", ", Keys)}.");
            }
        }

        string? Get(string key) => x.TryGetValue(key, out string? v) || x.TryGetValue(key.Replace('_', '-'), out v) ? v.Trim() : null;
        return new OpenAiSettings
        {
            Model = Get("model") is { Length: > 0 } m ? m : null,
            Api = Get("api")?.ToLowerInvariant() switch
            {
                null or "chat" => OpenAiApi.Chat,
                "completions" or "completion" => OpenAiApi.Completions,
                var a => throw HarnessException.BadInput($"--set api={a} must be chat or completions."),
            },
            Hold = Get("hold")?.ToLowerInvariant() switch
            {
                null or "ignore_eos" => OutputHold.IgnoreEos,
                "min_tokens" => OutputHold.MinTokens,
                "none" => OutputHold.None,
                var h => throw HarnessException.BadInput($"--set hold={h} must be ignore_eos, min_tokens or none."),
            },
            MaxTokensField = Get("max_tokens_field") switch
            {
                null or "max_tokens" => "max_tokens",
                "max_completion_tokens" => "max_completion_tokens",
                var f => throw HarnessException.BadInput($"--set max_tokens_field={f} must be max_tokens or max_completion_tokens."),
            },
            Temperature = Get("temperature") switch
            {
                null => 0,
                "none" => null,
                var t when double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v is >= 0 and <= 2 => v,
                var t => throw HarnessException.BadInput($"--set temperature={t} must be a number from 0 to 2, or none."),
            },
            IncludeUsage = options.Flag("include_usage", fallback: true),
            Timeout = Get("timeout") is { } limit ? ParseTimeout(limit) : null,
        };
    }

    private static TimeSpan ParseTimeout(string text)
    {
        string t = text.Trim().ToLowerInvariant();
        double scale = t.EndsWith("ms", StringComparison.Ordinal) ? 0.001 : t.EndsWith('m') ? 60 : t.EndsWith('h') ? 3600 : 1;
        string number = t.TrimEnd('s', 'm', 'h');
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0
            ? TimeSpan.FromSeconds(v * scale)
            : throw HarnessException.BadInput($"--set timeout={text} must be a duration such as 30s or 10m.");
    }
}
