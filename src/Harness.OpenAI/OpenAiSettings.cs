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
/// (a request's limit when <c>--timeout</c> is not given), declared in <see cref="Schema"/>.
/// Anything else is refused by name.
/// </summary>
public sealed record OpenAiSettings
{
    private static readonly SettingKey<string?> ModelKey =
        Setting.Text("model", "the only model /models lists", "the model the requests name");

    private static readonly SettingKey<string> ApiRouteKey = Setting.Choice(
        "api",
        "chat",
        "chat: /chat/completions with messages; completions: /completions with a prompt",
        "chat",
        "completions",
        "completion");

    private static readonly SettingKey<string> HoldKey =
        Setting.Choice("hold", "ignore_eos", "how the output is held at max_tokens", "ignore_eos", "min_tokens", "none");

    private static readonly SettingKey<string> MaxTokensFieldKey = Setting.Choice(
        "max_tokens_field", "max_tokens", "the request field that carries the output length", "max_tokens", "max_completion_tokens");

    private static readonly SettingKey<double?> TemperatureKey =
        Setting.NumberOrNone("temperature", 0, 0, 2, "sampling temperature; none leaves it to the server");

    private static readonly SettingKey<bool> IncludeUsageKey =
        Setting.Flag("include_usage", true, "ask for the server's token counts in the stream");

    private static readonly SettingKey<TimeSpan?> TimeoutKey =
        Setting.Duration("timeout", "10m", "a request's limit when --timeout is not given");

    /// <summary>The keys of <c>openai:URL</c>, for its workload and the agents' <c>--llm-set</c>.</summary>
    public static SettingsSchema Schema { get; } =
        new(ModelKey, ApiRouteKey, HoldKey, MaxTokensFieldKey, TemperatureKey, IncludeUsageKey, TimeoutKey);

    public static readonly IReadOnlyList<string> Keys = [.. Schema.Keys.Select(k => k.Name)];

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

    /// <summary>The settings of <paramref name="options"/>, checked against <see cref="Schema"/> first.</summary>
    public static OpenAiSettings From(WorkloadOptions options)
    {
        IReadOnlyDictionary<string, string> x = options.Extra;
        Schema.Check("openai:URL", x);
        return new OpenAiSettings
        {
            Model = ModelKey.Get(x),
            Api = ApiRouteKey.Get(x) == "chat" ? OpenAiApi.Chat : OpenAiApi.Completions,
            Hold = HoldKey.Get(x) switch
            {
                "min_tokens" => OutputHold.MinTokens,
                "none" => OutputHold.None,
                _ => OutputHold.IgnoreEos,
            },
            MaxTokensField = MaxTokensFieldKey.Get(x),
            Temperature = TemperatureKey.Get(x),
            IncludeUsage = IncludeUsageKey.Get(x),
            Timeout = TimeoutKey.Get(x),
        };
    }
}
