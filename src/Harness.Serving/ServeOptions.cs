using Harness.Tokenization;

namespace Harness.Serving;

/// <summary>Where and how <c>harness serve</c> listens, and the limits it holds every request to.</summary>
public sealed record ServeOptions
{
    /// <summary>Largest request body read (bigger: 413).</summary>
    public const int MaxBodyBytes = 1 << 20;

    /// <summary>Loopback unless told otherwise: an address, a host name or "0.0.0.0".</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>0 picks a free port (tests); the address is printed and in <see cref="LlmServer.Address"/>.</summary>
    public int Port { get; init; } = 8000;

    /// <summary>Requests waiting for a batch slot at most; beyond the slots and these, a request gets 429.</summary>
    public int MaxQueue { get; init; } = 32;

    /// <summary>A bearer key every /v1 request must carry; null: none.</summary>
    public string? ApiKey { get; init; }

    /// <summary>How long SIGTERM waits for the streams in flight before it cancels them.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>True when <see cref="Host"/> is a loopback address or "localhost".</summary>
    public bool IsLoopback => Host is "localhost" || (System.Net.IPAddress.TryParse(Host, out System.Net.IPAddress? a) && System.Net.IPAddress.IsLoopback(a));
}

/// <summary>The model a server serves: its name in the API, its context (tokens a slot holds) and the map from text to its ids.</summary>
public sealed record ServedModel(string Name, int Context, VocabularyMap Vocabulary)
{
    /// <summary>completions' max_tokens when the request gives none (OpenAI's and vLLM's default).</summary>
    public const int DefaultCompletionTokens = 16;

    /// <summary>How chat messages become the prompt's text: the model's template as recognized
    /// (<see cref="ChatTemplate.Recognize"/>).</summary>
    public ChatFormat Chat { get; init; } = ChatFormat.ChatMl;
}
