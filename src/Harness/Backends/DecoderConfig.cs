using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Harness.Backends;

/// <summary>The two decoder families the harness builds.</summary>
public enum DecoderArchitecture
{
    /// <summary>GPT-2: LayerNorm, GELU (tanh) MLP, learned positions, biases, tied LM head.</summary>
    Gpt2,

    /// <summary>Llama: RMSNorm, SwiGLU MLP, rotary positions (RoPE), grouped-query attention.</summary>
    Llama,
}

/// <summary>
/// The shape of a decoder-only transformer, read from <c>models/NAME.json</c>. Shapes, not weight
/// values, set the speed: weights are generated from a seed (<c>Models.WeightGenerator</c>).
/// </summary>
public sealed record DecoderConfig
{
    public required string Name { get; init; }

    public required DecoderArchitecture Architecture { get; init; }

    /// <summary>Model width d_model.</summary>
    public required int Hidden { get; init; }

    /// <summary>MLP inner width (for Llama, the width of gate and up each).</summary>
    public required int Intermediate { get; init; }

    public required int Layers { get; init; }

    /// <summary>Query heads.</summary>
    public required int Heads { get; init; }

    /// <summary>Key/value heads; equal to <see cref="Heads"/> for multi-head attention.</summary>
    public required int KvHeads { get; init; }

    public required int Vocab { get; init; }

    /// <summary>Longest context the model supports (learned position table size for GPT-2).</summary>
    public required int MaxPositions { get; init; }

    /// <summary>RoPE base (Llama only).</summary>
    public double RopeTheta { get; init; } = 10000;

    /// <summary>Epsilon of LayerNorm (GPT-2) or RMSNorm (Llama).</summary>
    public double NormEps { get; init; } = 1e-5;

    /// <summary>Whether the LM head reuses the token embedding matrix.</summary>
    public bool TieEmbeddings { get; init; }

    /// <summary>Whether the q/k/v projections have biases (GPT-2, Qwen2).</summary>
    public bool QkvBias { get; init; }

    /// <summary>Where the shape comes from (the published config it copies).</summary>
    public string Source { get; init; } = "";

    /// <summary>A shape kept for capacity planning; running it is refused where it does not fit.</summary>
    public bool PlanningOnly { get; init; }

    /// <summary>Width of one attention head where it is not hidden / heads (gpt-oss: 64 with hidden 2880 and 64 heads).</summary>
    [JsonPropertyName("head_dim")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? HeadDimOverride { get; init; }

    /// <summary>Routed experts per mixture-of-experts layer; 0 for a dense model.</summary>
    public int Experts { get; init; }

    /// <summary>Routed experts each token goes through (top-k).</summary>
    public int ExpertsPerToken { get; init; }

    /// <summary>Experts every token goes through besides the routed ones (DeepSeek, Qwen2-MoE).</summary>
    public int SharedExperts { get; init; }

    /// <summary>MLP inner width of one expert; default <see cref="Intermediate"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? ExpertIntermediate { get; init; }

    /// <summary>Leading layers with a dense MLP of <see cref="Intermediate"/> (DeepSeek's first_k_dense_replace); the rest are MoE.</summary>
    public int DenseLayers { get; init; }

    /// <summary>Keys a sliding-window layer attends to (and keeps in its KV cache); 0 for none.</summary>
    public int SlidingWindow { get; init; }

    /// <summary>Layers that use <see cref="SlidingWindow"/>; the others attend to the whole context.</summary>
    public int SlidingWindowLayers { get; init; }

    [JsonIgnore]
    public int HeadDim => HeadDimOverride ?? Hidden / Heads;

    [JsonIgnore]
    public bool IsMixtureOfExperts => Experts > 0;

    /// <summary>Layers whose MLP is a mixture of experts.</summary>
    [JsonIgnore]
    public int MoeLayers => IsMixtureOfExperts ? Layers - DenseLayers : 0;

    /// <summary>MLP inner width of one expert.</summary>
    [JsonIgnore]
    public int ExpertWidth => ExpertIntermediate ?? Intermediate;

    /// <summary>
    /// What in the shape the harness's own decoders do not build (experts, a head width other than
    /// hidden / heads, sliding windows); null when they build all of it. Such shapes are for
    /// projection and planning only.
    /// </summary>
    [JsonIgnore]
    public string? UnbuiltFeature =>
        IsMixtureOfExperts ? "a mixture of experts"
        : HeadDimOverride is { } h && h * Heads != Hidden ? $"a head width ({h}) other than hidden / heads"
        : SlidingWindow > 0 ? "sliding-window attention"
        : null;

    /// <summary>Width of the fused q|k|v projection output.</summary>
    [JsonIgnore]
    public int QkvWidth => (Heads + 2 * KvHeads) * HeadDim;

    /// <summary>The file this config was read from, if any.</summary>
    [JsonIgnore]
    public string? Path { get; init; }

    /// <summary>
    /// The checkpoint the weights are read from: a Hugging Face folder or a GGUF file
    /// (<c>--model PATH</c>); null for weights generated from a seed.
    /// </summary>
    [JsonIgnore]
    public string? WeightsPath { get; init; }

    /// <summary>
    /// The ONNX decoder graph (an Optimum folder's <c>model.onnx</c>) that the ONNX backend runs as it is
    /// (<c>--model DIR</c>); null when the weights are generated or read as tensors. torch:* reads its
    /// initializers as the canonical weights where <c>harness export</c> wrote it.
    /// </summary>
    [JsonIgnore]
    public string? OnnxGraph { get; init; }

    /// <summary>
    /// Checks the shape; every problem becomes one sentence and exit code 2, before anything is
    /// allocated.
    /// </summary>
    public DecoderConfig Validate()
    {
        string where = Path is null ? $"Model config '{Name}'" : $"Model config '{Name}' ({Path})";
        void Positive(int v, string field)
        {
            if (v <= 0)
            {
                throw HarnessException.BadInput($"{where}: {field} must be a positive integer, not {v}.");
            }
        }

        if (string.IsNullOrWhiteSpace(Name))
        {
            throw HarnessException.BadInput($"{where}: name is empty.");
        }

        Positive(Hidden, "hidden");
        Positive(Intermediate, "intermediate");
        Positive(Layers, "layers");
        Positive(Heads, "heads");
        Positive(KvHeads, "kv_heads");
        Positive(Vocab, "vocab");
        Positive(MaxPositions, "max_positions");
        if (HeadDimOverride is { } headDim)
        {
            Positive(headDim, "head_dim");
        }
        else if (Hidden % Heads != 0)
        {
            throw HarnessException.BadInput($"{where}: heads ({Heads}) must divide hidden ({Hidden}), or give head_dim.");
        }

        ValidateExperts(where);

        if (Heads % KvHeads != 0)
        {
            throw HarnessException.BadInput($"{where}: kv_heads ({KvHeads}) must divide heads ({Heads}).");
        }

        if (Architecture == DecoderArchitecture.Gpt2 && KvHeads != Heads)
        {
            throw HarnessException.BadInput($"{where}: the gpt2 architecture uses multi-head attention, so kv_heads ({KvHeads}) must equal heads ({Heads}).");
        }

        if (Architecture == DecoderArchitecture.Llama && HeadDim % 2 != 0)
        {
            throw HarnessException.BadInput($"{where}: rotary embeddings need an even head size, and hidden/heads is {HeadDim}.");
        }

        if (!(NormEps > 0 && NormEps < 1))
        {
            throw HarnessException.BadInput($"{where}: norm_eps must be between 0 and 1, not {NormEps.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (Architecture == DecoderArchitecture.Llama && !(RopeTheta > 1))
        {
            throw HarnessException.BadInput($"{where}: rope_theta must be greater than 1, not {RopeTheta.ToString(CultureInfo.InvariantCulture)}.");
        }

        return this;
    }

    /// <summary>A stable hash of everything that shapes the generated graph and weights (dense shapes hash as they always did).</summary>
    public string ShapeHash()
    {
        string canonical = string.Join('|',
            Architecture, Hidden, Intermediate, Layers, Heads, KvHeads, Vocab, MaxPositions,
            RopeTheta.ToString("R", CultureInfo.InvariantCulture), NormEps.ToString("R", CultureInfo.InvariantCulture),
            TieEmbeddings, QkvBias);
        if (HeadDimOverride is not null || IsMixtureOfExperts || SlidingWindow > 0)
        {
            canonical += string.Join('|', "", HeadDim, Experts, ExpertsPerToken, SharedExperts, ExpertWidth, DenseLayers, SlidingWindow, SlidingWindowLayers);
        }

        byte[] hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonical));
        return Convert.ToHexStringLower(hash)[..16];
    }

    private void ValidateExperts(string where)
    {
        if (Experts < 0 || ExpertsPerToken < 0 || SharedExperts < 0 || DenseLayers < 0 || SlidingWindow < 0 || SlidingWindowLayers < 0)
        {
            throw HarnessException.BadInput($"{where}: experts, experts_per_token, shared_experts, dense_layers, sliding_window and sliding_window_layers cannot be negative.");
        }

        if (IsMixtureOfExperts)
        {
            if (ExpertsPerToken < 1 || ExpertsPerToken > Experts)
            {
                throw HarnessException.BadInput($"{where}: experts_per_token must be between 1 and experts ({Experts}), not {ExpertsPerToken}.");
            }

            if (DenseLayers >= Layers)
            {
                throw HarnessException.BadInput($"{where}: dense_layers ({DenseLayers}) must leave at least one of the {Layers} layers to the experts.");
            }

            if (ExpertIntermediate is { } w && w <= 0)
            {
                throw HarnessException.BadInput($"{where}: expert_intermediate must be a positive integer, not {w}.");
            }

            if (Architecture != DecoderArchitecture.Llama)
            {
                throw HarnessException.BadInput($"{where}: experts are modelled for the llama architecture (SwiGLU experts) only.");
            }
        }
        else if (ExpertsPerToken != 0 || SharedExperts != 0 || ExpertIntermediate is not null || DenseLayers != 0)
        {
            throw HarnessException.BadInput($"{where}: experts_per_token, shared_experts, expert_intermediate and dense_layers need experts > 0.");
        }

        if ((SlidingWindow > 0) != (SlidingWindowLayers > 0) || SlidingWindowLayers > Layers)
        {
            throw HarnessException.BadInput($"{where}: sliding_window and sliding_window_layers go together, with sliding_window_layers at most layers ({Layers}).");
        }

        if (UnbuiltFeature is { } feature && !PlanningOnly)
        {
            throw HarnessException.BadInput($"{where}: a shape with {feature} must set planning_only: true; the harness's decoders do not build it.");
        }
    }

    internal static JsonSerializerOptions JsonOptions { get; } = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            WriteIndented = true,
        };
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }
}
