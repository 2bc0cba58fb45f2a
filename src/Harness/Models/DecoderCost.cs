namespace Harness.Models;

/// <summary>
/// Parameter counts, FLOPs and bytes of a decoder, from its shape alone. The formulas are written
/// out in the metric catalog (Metrics/MetricCatalog.cs) and copied into every result that uses them.
/// </summary>
public sealed class DecoderCost
{
    public DecoderCost(DecoderConfig config)
    {
        Config = config;
        Weights = WeightLayout.For(config);
        ParameterCount = Weights.Sum(w => w.Elements);
        TokenEmbeddingParams = (long)config.Vocab * config.Hidden;
        PositionEmbeddingParams = config.Architecture == DecoderArchitecture.Gpt2 ? (long)config.MaxPositions * config.Hidden : 0;
        NonEmbeddingParams = ParameterCount - TokenEmbeddingParams - PositionEmbeddingParams;
        long d = config.Hidden;
        long perLayerMatmul = d * config.QkvWidth + (long)config.Heads * config.HeadDim * d
            + (config.Architecture == DecoderArchitecture.Gpt2 ? 2 * d * config.Intermediate : 3 * d * config.Intermediate);
        LayerMatmulParams = perLayerMatmul * config.Layers;
        LmHeadParams = d * config.Vocab;
        MatmulParams = LayerMatmulParams + LmHeadParams;
        // Weights a decode step reads whole: everything but the gathered embedding tables, plus the
        // LM head (which is the token embedding itself when tied).
        StreamedParams = NonEmbeddingParams + (config.TieEmbeddings ? TokenEmbeddingParams : 0);
    }

    public DecoderConfig Config { get; }

    public IReadOnlyList<WeightSpec> Weights { get; }

    /// <summary>All parameters (the tied embedding counted once).</summary>
    public long ParameterCount { get; }

    public long TokenEmbeddingParams { get; }

    /// <summary>GPT-2's learned position table; 0 for RoPE models.</summary>
    public long PositionEmbeddingParams { get; }

    /// <summary>All parameters but the token and position embedding tables (an untied LM head counts).</summary>
    public long NonEmbeddingParams { get; }

    /// <summary>Weights of the matrix products in the layers (q|k|v, out, MLP).</summary>
    public long LayerMatmulParams { get; }

    /// <summary>hidden x vocab: the LM head's matrix product, tied or not.</summary>
    public long LmHeadParams { get; }

    /// <summary>Weights of every matrix product one token goes through: layers plus LM head.</summary>
    public long MatmulParams { get; }

    /// <summary>Parameters one decode step reads in full.</summary>
    public long StreamedParams { get; }

    /// <summary>K and V of one token over all layers: 2 x layers x kv_heads x head_dim x bytes.</summary>
    public long KvBytesPerToken(TensorDType dtype) => 2L * Config.Layers * Config.KvHeads * Config.HeadDim * dtype.Bytes();

    public long WeightBytes(TensorDType dtype) => ParameterCount * dtype.Bytes();

    /// <summary>
    /// FLOPs of one token that attends to <paramref name="context"/> keys (itself included):
    /// 2 x matmul weights (layers and LM head) + 4 x layers x hidden x context (QK^T and AV, 2 FLOPs
    /// per multiply-add each).
    /// </summary>
    public double FlopsPerToken(long context) => 2.0 * MatmulParams + AttentionFlops(context);

    /// <summary>4 x layers x hidden x context: the attention score and value products of one query token.</summary>
    public double AttentionFlops(long context) => 4.0 * Config.Layers * Config.Hidden * context;

    /// <summary>
    /// FLOPs of the prefill of one sequence of <paramref name="promptTokens"/> tokens: every token
    /// through the layers, causal attention (token i attends to i keys), and the LM head for the last
    /// position only (the generator computes logits only where a token is sampled).
    /// </summary>
    public double PrefillFlops(long promptTokens) =>
        2.0 * LayerMatmulParams * promptTokens
        + 4.0 * Config.Layers * Config.Hidden * (promptTokens * (promptTokens + 1) / 2.0)
        + 2.0 * LmHeadParams;

    /// <summary>
    /// Bytes one decode step moves at batch <paramref name="batch"/> when each sequence attends to
    /// <paramref name="context"/> keys: the streamed weights once, the KV cache of every sequence read
    /// (context tokens), and one new token's K and V written per sequence.
    /// </summary>
    public double BytesPerDecodeStep(int batch, long context, TensorDType weightType, TensorDType kvType) =>
        (double)StreamedParams * weightType.Bytes()
        + (double)batch * context * KvBytesPerToken(kvType)
        + (double)batch * KvBytesPerToken(kvType);

    /// <summary>Mean context of the decode steps of a request: steps attend to prompt+1 .. prompt+new-1 keys.</summary>
    public static double MeanDecodeContext(int promptTokens, int newTokens) =>
        newTokens <= 1 ? promptTokens + 1 : promptTokens + newTokens / 2.0;
}
