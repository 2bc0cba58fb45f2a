using Harness.Backends;
using Harness.Datasets;
using Harness.Decoding;

namespace Harness.OpenAI;

/// <summary>
/// A run against <c>openai:URL</c>, typed and checked when the workload is created, before anything
/// connects: the server's base URL, the <c>--set</c> settings (<see cref="OpenAiSettings"/>), where the
/// API key comes from (read now; never printed), the tokenizer (loaded now), and what the requests are
/// made of (<see cref="EndpointRequestSpec"/>: the dataset parsed once, the server-metrics URL). Every
/// bad option is bad input here, so connecting (/models, the probe request) only meets the server.
/// </summary>
public sealed class EndpointRunSpec
{
    private EndpointRunSpec(
        Uri baseUrl,
        string name,
        OpenAiSettings settings,
        string? keyVariable,
        string? apiKey,
        ITokenCounter? tokenizer,
        EndpointRequestSpec requests)
    {
        BaseUrl = baseUrl;
        Name = name;
        Settings = settings;
        ApiKeyVariable = keyVariable;
        ApiKey = apiKey;
        Tokenizer = tokenizer;
        Requests = requests;
    }

    public Uri BaseUrl { get; }

    /// <summary>The endpoint as the result names it: the URL as given.</summary>
    public string Name { get; }

    public OpenAiSettings Settings { get; }

    /// <summary>The variable the key came from (<c>--api-key-env</c>); null for <see cref="ApiKeys.DefaultVariable"/>.</summary>
    public string? ApiKeyVariable { get; }

    /// <summary>The tokenizer given (<c>--tokenizer</c>); null for none.</summary>
    public ITokenCounter? Tokenizer { get; }

    public EndpointRequestSpec Requests { get; }

    /// <summary>The key itself: only for the Authorization header.</summary>
    internal string? ApiKey { get; }

    /// <summary>Parses and checks everything a run against <paramref name="backend"/> needs; touches no network.</summary>
    public static EndpointRunSpec From(BackendSpec backend, WorkloadOptions options)
    {
        if (backend.Target is not { } target || !Uri.TryCreate(target, UriKind.Absolute, out Uri? baseUrl))
        {
            throw HarnessException.BadInput($"Backend '{backend}' needs a URL, e.g. openai:http://127.0.0.1:8000/v1.");
        }

        OpenAiSettings settings = OpenAiSettings.From(options);
        string? key = ApiKeys.Read(options.ApiKeyVariable, ApiKeys.DefaultVariable);
        ITokenCounter? tokenizer = options.TokenizerPath is { } path ? HfTokenizer.Counter(path) : null;
        return new EndpointRunSpec(baseUrl, target, settings, options.ApiKeyVariable, key, tokenizer, EndpointRequestSpec.From(options));
    }

    /// <summary>Says where the key comes from, never the key.</summary>
    public override string ToString() =>
        $"{Name} ({Requests.Dataset.Text}; key from {ApiKeyVariable ?? ApiKeys.DefaultVariable}{(ApiKey is null ? ", not set" : "")})";
}
