namespace Harness.Backends;

/// <summary>
/// Options a workload may read; the CLI fills them, each workload validates the ones it uses and
/// records them in the result's config.
/// </summary>
public sealed record WorkloadOptions
{
    /// <summary>Model file for <c>onnx-file</c>.</summary>
    public string? ModelPath { get; init; }

    /// <summary>Values for dynamic dimensions, by input name: <c>--shape input=1x3x224x224</c>.</summary>
    public IReadOnlyDictionary<string, long[]> Shapes { get; init; } = new Dictionary<string, long[]>();

    /// <summary>Intra-op threads; null lets the runtime choose (the machine's cores).</summary>
    public int? Threads { get; init; }

    public int? InterOpThreads { get; init; }

    /// <summary>Graph optimization level (<c>--optimization</c>), parsed where it is given.</summary>
    public GraphOptimization Optimization { get; init; } = GraphOptimization.All;

    /// <summary>The decoder's shape (<c>--model-config</c>), for generate and the agents' LLM; null for the default.</summary>
    public DecoderConfig? ModelConfig { get; init; }

    /// <summary>generate: prompt tokens per sequence (<c>--prompt-tokens</c>).</summary>
    public int? PromptTokens { get; init; }

    /// <summary>generate: tokens generated per sequence (<c>--new-tokens</c>).</summary>
    public int? NewTokens { get; init; }

    /// <summary>generate, gemm, copy and decoders: element type (<c>--dtype</c>); null for the backend's default.</summary>
    public TensorDType? DType { get; init; }

    /// <summary>
    /// Decoders: weight-only quantization (<c>--dtype int8|int4|fp8</c>, with <c>--set quant_block</c>...); null for float weights.
    /// The activations and KV cache then run in <see cref="DType"/> (the backend's float type when null).
    /// </summary>
    public WeightQuantization? Quantization { get; init; }

    /// <summary>torch backend: folder of a libtorch to load (<c>--libtorch</c>); null for TORCH_LIB_DIR or the packaged one.</summary>
    public string? LibTorch { get; init; }

    /// <summary>
    /// Inputs the command line parsed once whose types live in a layer above this one, e.g. generate's
    /// dataset (<c>--dataset</c>, whose trace also gave the scenario its schedule); a workload takes the
    /// one of its type (<see cref="Input{T}"/>) and ignores the others.
    /// </summary>
    public IReadOnlyList<object> Inputs { get; init; } = [];

    /// <summary>A Hugging Face tokenizer.json (<c>--tokenizer</c>): exact prompt lengths and the client's own token counts.</summary>
    public string? TokenizerPath { get; init; }

    /// <summary>The server's Prometheus endpoint (<c>--server-metrics</c>): a URL, "off", or null for the endpoint's /metrics.</summary>
    public string? ServerMetrics { get; init; }

    /// <summary>The environment variable holding the API key (<c>--api-key-env</c>); null for OPENAI_API_KEY.</summary>
    public string? ApiKeyVariable { get; init; }

    /// <summary>
    /// Further workload-specific settings (<c>--set key=value</c>), checked against the workload's
    /// <see cref="SettingsSchema"/> before it is created, and read through its <see cref="SettingKey{T}"/>s.
    /// </summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    /// <summary>The parsed input of type <typeparamref name="T"/>; null when the command line gave none.</summary>
    public T? Input<T>()
        where T : class => Inputs.OfType<T>().FirstOrDefault();
}

/// <summary>A graph optimization level (<c>--optimization</c>): what ONNX Runtime may rewrite before it runs.</summary>
public enum GraphOptimization
{
    None,
    Basic,
    Extended,
    All,
}

public static class GraphOptimizations
{
    /// <summary>none (or disable), basic, extended, all; anything else is bad input.</summary>
    public static GraphOptimization Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "none" or "disable" => GraphOptimization.None,
        "basic" => GraphOptimization.Basic,
        "extended" => GraphOptimization.Extended,
        "all" => GraphOptimization.All,
        _ => throw HarnessException.BadInput($"Unknown graph optimization level '{text}'; expected none, basic, extended or all."),
    };

    /// <summary>The level as the command line and the result's config write it: "all".</summary>
    public static string Name(this GraphOptimization level) => level.ToString().ToLowerInvariant();
}
