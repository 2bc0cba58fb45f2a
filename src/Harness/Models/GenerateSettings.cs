using Harness.Backends;
using Harness.Metrics;

namespace Harness.Models;

/// <summary>
/// The options of the <c>generate</c> workload: the typed ones of the command line
/// (<c>--model-config</c>, <c>--prompt-tokens</c>, <c>--new-tokens</c>, <c>--dtype</c>) and the
/// <c>--set</c> settings <c>weight_seed</c> and <c>ceilings</c>, checked before anything is allocated.
/// </summary>
public sealed record GenerateSettings
{
    public const string DefaultModel = "gpt2-124m";

    /// <summary>Weights come from this seed unless <c>weight_seed</c> says otherwise; prompts use the run's seed.</summary>
    public const int DefaultWeightSeed = 1234;

    /// <summary><c>--set weight_seed=N</c>: the seed of a decoder's generated weights.</summary>
    public static readonly SettingKey<int> WeightSeedKey =
        Setting.Int(ConfigKeys.WeightSeed, DefaultWeightSeed, 0, "seed of the generated weights");

    /// <summary><c>--set ceilings=A.json,B.json</c>: gemm/copy results that MFU/MBU are also stated against.</summary>
    public static readonly SettingKey<string?> CeilingsKey =
        Setting.Text("ceilings", "none", "gemm/copy result files (comma-separated) for MFU/MBU against measured ceilings");

    public required DecoderConfig Model { get; init; }

    public int PromptTokens { get; init; } = 128;

    public int NewTokens { get; init; } = 128;

    /// <summary>The activations' and KV cache's element type (with <see cref="Quantization"/>, not the weights').</summary>
    public required TensorDType DType { get; init; }

    /// <summary>Weight-only quantization (<c>--dtype int8|int4</c>); null for float weights.</summary>
    public WeightQuantization? Quantization { get; init; }

    /// <summary>
    /// Bytes per weight of a model file whose tensors the backend runs as stored (llama.cpp: the GGUF file's
    /// blocks, <see cref="Formats.ModelFiles.StoredBytesPerWeight"/>), or of a GGUF file's matrices as MatMulNBits holds
    /// them (<see cref="Formats.ModelFiles.MappedBytesPerWeight"/>); null where the weights are in <see cref="DType"/>
    /// or <see cref="Quantization"/>'s own blocks.
    /// </summary>
    public double? StoredBytesPerWeight { get; init; }

    public int WeightSeed { get; init; } = DefaultWeightSeed;

    /// <summary>Result files of the gemm/copy workloads whose measured ceilings MFU/MBU are also stated against.</summary>
    public IReadOnlyList<string> CeilingFiles { get; init; } = [];

    /// <summary>Prompt plus generated tokens: the length of the preallocated KV cache.</summary>
    public int MaxContext => PromptTokens + NewTokens;

    /// <summary>generate runs one batch at a time: parallel sequences come from --batch, not from workers.</summary>
    public static void RequireOneWorker(Harness.Engine.WorkloadContext context)
    {
        if (context.Workers != 1)
        {
            throw HarnessException.BadInput($"generate runs one batch at a time (concurrency 1); use --batch for parallel sequences instead of {context.Workers} workers.");
        }
    }

    /// <param name="model">The model config; null for <see cref="DefaultModel"/>.</param>
    /// <param name="settings">The <c>--set</c> settings (weight_seed, ceilings).</param>
    /// <param name="quant">Weight-only quantization (<c>--dtype int8|int4</c>); null for float weights.</param>
    public static GenerateSettings From(
        DecoderConfig? model, int? promptTokens, int? newTokens, TensorDType dtype, IReadOnlyDictionary<string, string> settings,
        WeightQuantization? quant = null)
    {
        DecoderConfig config = model ?? ModelCatalog.Load(DefaultModel);
        quant?.CheckFits(config);
        var s = new GenerateSettings
        {
            Model = config,
            PromptTokens = AtLeastOne(promptTokens ?? 128, "--prompt-tokens"),
            NewTokens = AtLeastOne(newTokens ?? 128, "--new-tokens"),
            DType = dtype,
            Quantization = quant,
            WeightSeed = WeightSeedOf(settings),
            CeilingFiles = CeilingsKey.Get(settings) is { } c
                ? c.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : [],
        };
        if (s.MaxContext > config.MaxPositions)
        {
            throw HarnessException.BadInput($"--prompt-tokens {s.PromptTokens} plus --new-tokens {s.NewTokens} exceed {config.Name}'s max_positions ({config.MaxPositions}).");
        }

        foreach (string f in s.CeilingFiles)
        {
            if (!File.Exists(f))
            {
                throw HarnessException.BadInput($"Ceiling result file '{f}' (--set {CeilingsKey.Name}=...) does not exist.");
            }
        }

        return s;
    }

    /// <summary>The seed of the generated weights: <c>--set weight_seed=N</c>, else <see cref="DefaultWeightSeed"/>.</summary>
    public static int WeightSeedOf(IReadOnlyDictionary<string, string> settings) => WeightSeedKey.Get(settings);

    /// <summary>
    /// The prompt: batch x prompt tokens, deterministic in the seed, drawn uniformly from the vocabulary
    /// (token values do not change the speed of a dense decoder).
    /// </summary>
    public long[] Prompt(int batch, int seed)
    {
        var ids = new long[(long)batch * PromptTokens];
        FillPrompt(ids, seed, Model.Vocab);
        return ids;
    }

    /// <summary>Seeded prompt ids, uniform over a vocabulary of <paramref name="vocab"/> tokens.</summary>
    public static void FillPrompt(Span<long> ids, int seed, int vocab)
    {
        var rng = new Random(seed);
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = rng.Next(vocab);
        }
    }

    /// <summary>Facts for the result's config: the model, the run's shape and the KV cache it takes.</summary>
    public Dictionary<string, object?> Details(int batch)
    {
        Dictionary<string, object?> details = DescribeModel(Model, DType, WeightSeed, Quantization);
        if (StoredBytesPerWeight is { } stored)
        {
            // The file's blocks run as they are: nothing was dequantized, and the step streams the file's bits per weight.
            details.Remove(ConfigKeys.ModelDequantized);
            details[ConfigKeys.QuantBitsPerWeight] = stored * 8;
        }

        details[ConfigKeys.Batch] = batch;
        details[ConfigKeys.PromptTokens] = PromptTokens;
        details[ConfigKeys.NewTokens] = NewTokens;
        details[ConfigKeys.KvCacheBytes] = (long)batch * MaxContext * new DecoderCost(Model).KvBytesPerToken(DType);
        return details;
    }

    /// <summary>Facts for the result's config about a decoder whatever its shapes: model, element type, weights, sampling.</summary>
    public static Dictionary<string, object?> DescribeModel(
        DecoderConfig model, TensorDType dtype, int weightSeed, WeightQuantization? quant = null)
    {
        var cost = new DecoderCost(model);
        var details = new Dictionary<string, object?>
        {
            [ConfigKeys.ModelConfig] = model.Name,
            [ConfigKeys.ModelConfigPath] = model.Path,
            [ConfigKeys.ModelShapeHash] = model.ShapeHash(),
            [ConfigKeys.Architecture] = model.Architecture.ToString().ToLowerInvariant(),
            [ConfigKeys.Parameters] = cost.ParameterCount,
            [ConfigKeys.NonEmbeddingParameters] = cost.NonEmbeddingParams,
            [ConfigKeys.Dtype] = dtype.ShortName(),
            [ConfigKeys.WeightSeed] = weightSeed,
            [ConfigKeys.Weights] = "generated (seeded, approximately normal, std 0.02): shapes, not values, set the speed",
            [ConfigKeys.Sampling] = "greedy (argmax), every token read on the host each step",
        };
        if (model.WeightsPath is not null)
        {
            // A model read from files (--model PATH): where, its files' hashes, its weights' fingerprint and dtypes.
            details.Remove(ConfigKeys.WeightSeed);
            Formats.ModelFiles.Describe(model, details);
        }

        if (quant is not null)
        {
            // The weights' format is the run's dtype (what projections read); the activations and KV cache keep the float type.
            details[ConfigKeys.Dtype] = quant.Name;
            details[ConfigKeys.KvDtype] = dtype.ShortName();
            details[ConfigKeys.QuantBlock] = quant.Block;
            details[ConfigKeys.QuantZeroPoints] = quant.ZeroPoints;
            if (!quant.Float8)
            {
                details[ConfigKeys.AccuracyLevel] = quant.AccuracyLevel; // MatMulNBits' compute type; fp8's operator has none
            }
            details[ConfigKeys.QuantBitsPerWeight] = Formats.ModelFiles.MappedBytesPerWeight(model, quant, dtype.Bytes() * 8) * 8;
            // Without --dtype a GGUF file's quantized matrices run as stored (DecoderOptions.Quantization): the result says so first.
            string asStored = quant.AsStored
                ? "no --dtype: the file's quantized matrices run as stored, as llama.cpp runs them (--dtype fp32 dequantizes them); "
                : "";
            string scales = quant.Float8 ? "fp32" : dtype.ShortName();
            details[ConfigKeys.WeightQuantization] = $"{asStored}{quant.Describe()}, weight-only ({quant.Operator}; scales in "
                + $"{scales}): {Formats.ModelFiles.QuantizationSource(model, quant)}; the matrix products and the LM head "
                + $"quantized, the token embedding kept in {dtype.ShortName()} for its gather, norms in {dtype.ShortName()}";
            details.Remove(ConfigKeys.ModelDequantized);
        }

        return details;
    }

    /// <summary>The model's shape alone (name, shape hash, parameters): what a server is said to serve (<c>--model-config</c>).</summary>
    public static Dictionary<string, object?> DescribeShape(DecoderConfig model)
    {
        var cost = new DecoderCost(model);
        return new Dictionary<string, object?>
        {
            [ConfigKeys.ModelConfig] = model.Name,
            [ConfigKeys.ModelShapeHash] = model.ShapeHash(),
            [ConfigKeys.Parameters] = cost.ParameterCount,
            [ConfigKeys.NonEmbeddingParameters] = cost.NonEmbeddingParams,
        };
    }

    private static int AtLeastOne(int value, string option) =>
        value >= 1 ? value : throw HarnessException.BadInput($"{option} must be at least 1, not {value}.");
}
