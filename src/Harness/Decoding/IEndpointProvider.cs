using Harness.Backends;
using Harness.Datasets;
using Harness.Measurement;

namespace Harness.Decoding;

/// <summary>
/// A backend provider whose backends are request-level endpoints served elsewhere (an OpenAI-compatible
/// HTTP server): <c>generate</c> and the agents' LLM connect to it through the one <see cref="BackendRegistry"/>.
/// </summary>
public interface IEndpointProvider
{
    /// <summary>
    /// Connects to the endpoint a backend names: checks that it answers and which model it serves,
    /// loads the tokenizer the options name. Bad options or an endpoint that does not answer throw
    /// <see cref="HarnessException"/> with one sentence (never the API key).
    /// </summary>
    EndpointConnection Connect(BackendSpec backend, WorkloadOptions options, EndpointSettings settings);
}

/// <summary>What the caller decides about the connection: its clock, the request timeout, and whether the generated text is kept (agents thread it into the next turn).</summary>
public sealed record EndpointSettings
{
    public IClock Clock { get; init; } = StopwatchClock.Instance;

    /// <summary>A request that has not ended after this long is cut and counted as a timeout; null for the provider's default.</summary>
    public TimeSpan? RequestTimeout { get; init; }
}

/// <summary>A connected endpoint, the tokenizer that counts its tokens (when one was given), and where the server publishes its metrics.</summary>
public sealed record EndpointConnection(ILlmEndpoint Endpoint, ITokenCounter? Tokenizer, Uri? MetricsUrl)
{
    /// <summary>How output length is held (ignore_eos, min_tokens or none), for the result.</summary>
    public string OutputLengthControl { get; init; } = "none";

    /// <summary>The model's context in tokens, where the server says it (vLLM's <c>max_model_len</c> in /models); null otherwise.</summary>
    public int? ContextTokens { get; init; }
}

/// <summary>Endpoints from the registry's providers.</summary>
public static class EndpointBackends
{
    /// <summary>The runtimes whose providers connect to endpoints, e.g. "openai".</summary>
    public static IEnumerable<string> Runtimes(BackendRegistry registry) =>
        registry.Providers.Where(p => p is IEndpointProvider).Select(p => p.Runtime);

    /// <summary>The endpoint provider of <paramref name="backend"/>, or null when its runtime builds decoders instead.</summary>
    public static IEndpointProvider? Find(BackendRegistry registry, BackendSpec backend) =>
        registry.Providers.FirstOrDefault(p => p.Runtime == backend.Runtime) as IEndpointProvider;
}
