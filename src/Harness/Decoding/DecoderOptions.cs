using System.Globalization;
using Harness.Backends;
using Harness.Metrics;
using Harness.Models;
using Harness.Models.Formats;

namespace Harness.Decoding;

/// <summary>
/// The one place that builds a decoder's <see cref="WorkloadOptions"/> from what the command line
/// gives (<c>run generate</c>, <c>serve</c>, the agents' <c>--llm-set</c>): the typed options are
/// parsed here once, and the <c>--set</c> settings are kept apart from them.
/// </summary>
public static class DecoderOptions
{
    /// <summary>Settings that have options of their own, so that their values never travel as strings.</summary>
    private static readonly Dictionary<string, string> OwnOptions = new(StringComparer.Ordinal)
    {
        ["model_config"] = "--model-config",
        ["prompt_tokens"] = "--prompt-tokens",
        ["new_tokens"] = "--new-tokens",
        ["dtype"] = "--dtype",
        ["libtorch"] = "--libtorch",
    };

    /// <summary>The workload settings of <c>--set key=value</c>; a key with an option of its own is refused.</summary>
    public static Dictionary<string, string> Settings(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string k, string v) in pairs)
        {
            if (OwnOptions.TryGetValue(k.Replace('-', '_'), out string? option))
            {
                throw HarnessException.BadInput($"--set {k} is an option of its own: use {option} {v}.");
            }

            settings[k] = v;
        }

        return settings;
    }

    /// <summary>
    /// A decoder's options: its model config (a name in models/ or a .json path; null for the
    /// default), element type (fp32, fp16, bf16; null for the backend's), intra-op threads (at least 1),
    /// libtorch folder, and the <c>--set</c> settings (checked against the backend's keys when it is created).
    /// </summary>
    public static WorkloadOptions Build(
        string? modelConfig, string? dtype, int? threads, string? libTorch, IReadOnlyDictionary<string, string> settings) => new()
    {
        ModelConfig = modelConfig is null ? null : ModelCatalog.Load(modelConfig),
        // int8/int4/fp8: weight-only quantization; the activations and KV cache keep the backend's float type.
        DType = dtype is null || WeightQuantization.Names(dtype) ? null : TensorDTypes.Parse(dtype),
        Quantization = WeightQuantization.Parse(dtype, settings),
        Threads = threads is < 1 ? throw HarnessException.BadInput("--threads must be at least 1.") : threads,
        LibTorch = libTorch,
        Extra = settings,
    };

    /// <summary>
    /// The one rule for the weight-only quantization a decoder runs: <c>--dtype int8|int4|fp8</c> as given; with no <c>--dtype</c>
    /// at all, a GGUF file's quantized matrices as stored (<see cref="ModelFiles.StoredQuantization"/>: q4_0/q4_K as int4,
    /// q8_0/q6_K as int8, as llama.cpp runs them) on a backend whose decoders take int8/int4 weights (onnx:*) and do not run the
    /// file's blocks themselves (llamacpp:cpu does); null otherwise: a float <c>--dtype</c> (or a backend without quantized
    /// matrix products, torch:*) dequantizes the file's blocks when it loads them.
    /// </summary>
    public static WeightQuantization? Quantization(WorkloadOptions options, IDecoderProvider provider) =>
        options.Quantization
        ?? (options.DType is null && options.ModelConfig is { } model && !provider.RunsFileWeightsAsStored
            && provider.DecoderSettings.Keys.Contains(WeightQuantization.BlockKey)
                ? ModelFiles.StoredQuantization(model, options.Extra)
                : null);

    /// <summary>
    /// <c>--llm-set key=value</c> into a decoder backend's options: model_config, dtype, threads and
    /// libtorch typed (a bad value is bad input here), tokenizer (openai:URL: the served model's tokenizer, so that the
    /// agents' prompts are their lengths in its tokens), every other key (spin, weight_seed, model, api...) a setting.
    /// </summary>
    public static WorkloadOptions FromLlmSettings(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        string? model = null, dtype = null, libTorch = null, tokenizer = null;
        int? threads = null;
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string k, string v) in pairs)
        {
            switch (k.Replace('-', '_'))
            {
                case "model_config":
                    model = v;
                    break;
                case "dtype":
                    dtype = v;
                    break;
                case "threads":
                    threads = int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1
                        ? n
                        : throw HarnessException.BadInput($"--llm-set threads '{v}' must be an integer of at least 1.");
                    break;
                case "libtorch":
                    libTorch = v;
                    break;
                case ConfigKeys.Tokenizer:
                    tokenizer = v;
                    break;
                case "prompt_tokens" or "new_tokens":
                    throw HarnessException.BadInput($"--llm-set {k}: the agents' steps set their own prompt and new tokens.");
                default:
                    settings[k] = v;
                    break;
            }
        }

        return Build(model, dtype, threads, libTorch, settings) with { TokenizerPath = tokenizer };
    }
}
