using System.Globalization;
using Harness.Backends;

namespace Harness.Models;

/// <summary>
/// The options of the <c>generate</c> workload, read from <see cref="WorkloadOptions.Extra"/>
/// (the CLI's <c>--model-config</c>, <c>--prompt-tokens</c>, <c>--new-tokens</c>, <c>--dtype</c>, or
/// <c>--set key=value</c>) and checked before anything is allocated.
/// </summary>
public sealed record GenerateSettings
{
    public const string ModelKey = "model_config";
    public const string PromptKey = "prompt_tokens";
    public const string NewKey = "new_tokens";
    public const string DTypeKey = "dtype";
    public const string WeightSeedKey = "weight_seed";
    public const string CeilingsKey = "ceilings";

    /// <summary>Weights come from this seed unless <c>weight_seed</c> says otherwise; prompts use the run's seed.</summary>
    public const int DefaultWeightSeed = 1234;

    public required DecoderConfig Model { get; init; }

    public int PromptTokens { get; init; } = 128;

    public int NewTokens { get; init; } = 128;

    public required TensorDType DType { get; init; }

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

    public static GenerateSettings From(WorkloadOptions options, TensorDType defaultDType)
    {
        IReadOnlyDictionary<string, string> x = options.Extra;
        string model = Get(x, ModelKey) ?? "gpt2-124m";
        DecoderConfig config = ModelCatalog.Load(model);
        var s = new GenerateSettings
        {
            Model = config,
            PromptTokens = Int(x, PromptKey, 128, 1),
            NewTokens = Int(x, NewKey, 128, 1),
            DType = Get(x, DTypeKey) is { } d ? TensorDTypes.Parse(d) : defaultDType,
            WeightSeed = Int(x, WeightSeedKey, DefaultWeightSeed, 0),
            CeilingFiles = Get(x, CeilingsKey) is { } c ? c.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [],
        };
        if (s.MaxContext > config.MaxPositions)
        {
            throw HarnessException.BadInput($"--prompt-tokens {s.PromptTokens} plus --new-tokens {s.NewTokens} exceed {config.Name}'s max_positions ({config.MaxPositions}).");
        }

        foreach (string f in s.CeilingFiles)
        {
            if (!File.Exists(f))
            {
                throw HarnessException.BadInput($"Ceiling result file '{f}' (--set {CeilingsKey}=...) does not exist.");
            }
        }

        return s;
    }

    /// <summary>
    /// The prompt: batch x prompt tokens, deterministic in the seed, drawn uniformly from the vocabulary
    /// (token values do not change the speed of a dense decoder).
    /// </summary>
    public long[] Prompt(int batch, int seed)
    {
        var rng = new Random(seed);
        var ids = new long[(long)batch * PromptTokens];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = rng.Next(Model.Vocab);
        }

        return ids;
    }

    /// <summary>Facts for the result's config.</summary>
    public Dictionary<string, object?> Details(int batch)
    {
        var cost = new DecoderCost(Model);
        return new Dictionary<string, object?>
        {
            ["model_config"] = Model.Name,
            ["model_config_path"] = Model.Path,
            ["model_shape_hash"] = Model.ShapeHash(),
            ["architecture"] = Model.Architecture.ToString().ToLowerInvariant(),
            ["parameters"] = cost.ParameterCount,
            ["non_embedding_parameters"] = cost.NonEmbeddingParams,
            ["dtype"] = DType.ShortName(),
            ["batch"] = batch,
            ["prompt_tokens"] = PromptTokens,
            ["new_tokens"] = NewTokens,
            ["weight_seed"] = WeightSeed,
            ["weights"] = "generated (seeded, approximately normal, std 0.02): shapes, not values, set the speed",
            ["kv_cache_bytes"] = (long)batch * MaxContext * cost.KvBytesPerToken(DType),
            ["sampling"] = "greedy (argmax), every token read on the host each step",
        };
    }

    private static string? Get(IReadOnlyDictionary<string, string> x, string key) =>
        x.TryGetValue(key, out string? v) || x.TryGetValue(key.Replace('_', '-'), out v) ? v : null;

    internal static int Int(IReadOnlyDictionary<string, string> x, string key, int fallback, int min)
    {
        if (Get(x, key) is not { } text)
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min)
        {
            throw HarnessException.BadInput($"{key} '{text}' must be an integer of at least {min}.");
        }

        return v;
    }
}
