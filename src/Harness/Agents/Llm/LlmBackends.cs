using Harness.Engine;

namespace Harness.Agents.Llm;

/// <summary>How the agents' LLM device is chosen on the command line: a backend name and its numbers or settings.</summary>
public sealed record LlmOptions
{
    /// <summary>"latency-model" (built in) or a backend a provider offers (e.g. "onnx:cpu").</summary>
    public string Backend { get; init; } = LatencyModelBackend;

    /// <summary>For latency-model: the numbers (given, or read from a result file by the caller).</summary>
    public LatencyModel? Model { get; init; }

    /// <summary>Backend-specific settings (model config, dtype...), from <c>--llm-set key=value</c>.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    public const string LatencyModelBackend = "latency-model";
}

/// <summary>A source of real LLM devices for the agents (the decoder backends register one each).</summary>
public interface ILlmBackendProvider
{
    /// <summary>Backend names it serves, e.g. "onnx:cpu", "onnx:cuda".</summary>
    IReadOnlyList<string> Backends { get; }

    ILlmStepExecutor Create(LlmOptions options);
}

/// <summary>Resolves <see cref="LlmOptions.Backend"/>: the latency model here, real decoders through providers.</summary>
public sealed class LlmBackendRegistry
{
    private readonly IReadOnlyList<ILlmBackendProvider> _providers;

    public LlmBackendRegistry(IEnumerable<ILlmBackendProvider>? providers = null) => _providers = (providers ?? []).ToList();

    public IEnumerable<string> Names => _providers.SelectMany(p => p.Backends).Prepend(LlmOptions.LatencyModelBackend);

    public ILlmStepExecutor Create(LlmOptions options, IClock? clock = null)
    {
        if (options.Backend == LlmOptions.LatencyModelBackend)
        {
            return new LatencyModelExecutor(options.Model ?? LatencyModel.H100Llama1B, clock);
        }

        ILlmBackendProvider? provider = _providers.FirstOrDefault(p => p.Backends.Contains(options.Backend, StringComparer.Ordinal));
        return provider is null
            ? throw HarnessException.BadInput($"Unknown LLM backend '{options.Backend}' for agents; known here: {string.Join(", ", Names)}.")
            : provider.Create(options);
    }
}
