using System.Text.Json.Serialization;
using Harness.ServerMetrics;

namespace Harness.Decoding;

/// <summary>
/// The <c>serving</c> section of a result run against a request-level endpoint (an HTTP server):
/// what was asked, what the server said it did (usage), what the client counted on its own, whether
/// output lengths held, how the stream looked, and the server's own metrics over the window.
/// Counts cover the measured window's requests.
/// </summary>
public sealed class ServingReport
{
    /// <summary>The endpoint's base URL (never a credential).</summary>
    public string Endpoint { get; set; } = "";

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Model { get; set; }

    /// <summary>chat or completions.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Api { get; set; }

    public string Dataset { get; set; } = "";

    /// <summary>The tokenizer that counted prompts and re-counted outputs; null without one.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Tokenizer { get; set; }

    /// <summary>Where each event's tokens came from for per-token ITL and TPOT: tokenizer, usage (spread by characters) or events (one each).</summary>
    public string EventTokens { get; set; } = "events";

    /// <summary>How output length was held: ignore_eos, min_tokens or none.</summary>
    public string OutputLengthControl { get; set; } = "none";

    /// <summary>Ok requests whose generated tokens equal what was asked, of the ok requests that said how many they generated.</summary>
    public long OutputLengthHeld { get; set; }

    public long OutputLengthChecked { get; set; }

    public long RequestsOk { get; set; }

    /// <summary>Ok requests whose stream carried the server's usage.</summary>
    public long RequestsWithUsage { get; set; }

    /// <summary>Prompt tokens asked for (the dataset's lengths) and as the server's usage counted them (chat templates add their own).</summary>
    public long PromptTokensRequested { get; set; }

    public long PromptTokensServer { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? CachedPromptTokensServer { get; set; }

    public long OutputTokensRequested { get; set; }

    public long OutputTokensServer { get; set; }

    /// <summary>Output tokens as the client counted them: the tokenizer's count of the text, else one per event that carried tokens.</summary>
    public long OutputTokensClient { get; set; }

    /// <summary>tokenizer or events: what <see cref="OutputTokensClient"/> counted.</summary>
    public string ClientCount { get; set; } = "events";

    /// <summary>Streamed events that carried tokens, events without (role-only, usage-only, finish-only), SSE comments (pings).</summary>
    public long TokenEvents { get; set; }

    public long EmptyEvents { get; set; }

    public long Comments { get; set; }

    /// <summary>Ok streams that ended without <c>data: [DONE]</c> after their finish reason.</summary>
    public long MissingDone { get; set; }

    public Dictionary<string, long> FinishReasons { get; set; } = [];

    /// <summary>Requests sent again on a fresh connection because their reused one died before the response, by reason.</summary>
    public Dictionary<string, long> ConnectionRetries { get; set; } = [];

    /// <summary>CPU seconds of the client's threads in the window.</summary>
    public double ClientCpuS { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ServerMetricsReport? ServerMetrics { get; set; }

    /// <summary>Why the server's metrics are absent (turned off, or the endpoint did not answer).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ServerMetricsNote { get; set; }
}
