using Harness.Backends;

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
        long d = config.Hidden;
        long denseMlp = config.Architecture == DecoderArchitecture.Gpt2 ? 2 * d * config.Intermediate : 3 * d * config.Intermediate;
        // The canonical layout builds a dense MLP in every layer; a MoE layer has experts and a router instead.
        ExpertParams = 3 * d * config.ExpertWidth;
        RouterParams = config.IsMixtureOfExperts ? d * config.Experts : 0;
        RoutedExpertParams = (long)config.MoeLayers * config.Experts * ExpertParams;
        long moeLayerExtra = config.IsMixtureOfExperts
            ? (long)(config.Experts + config.SharedExperts) * ExpertParams + RouterParams - denseMlp
            : 0;
        ParameterCount = Weights.Sum(w => w.Elements) + config.MoeLayers * moeLayerExtra;
        TokenEmbeddingParams = (long)config.Vocab * config.Hidden;
        PositionEmbeddingParams = config.Architecture == DecoderArchitecture.Gpt2 ? (long)config.MaxPositions * config.Hidden : 0;
        NonEmbeddingParams = ParameterCount - TokenEmbeddingParams - PositionEmbeddingParams;
        long attention = d * config.QkvWidth + (long)config.Heads * config.HeadDim * d;
        long activeMoeMlp = (long)(config.ExpertsPerToken + config.SharedExperts) * ExpertParams + RouterParams;
        LayerMatmulParams = attention * config.Layers + denseMlp * (config.Layers - config.MoeLayers) + activeMoeMlp * config.MoeLayers;
        LmHeadParams = d * config.Vocab;
        MatmulParams = LayerMatmulParams + LmHeadParams;
        // Weights a decode step reads whole: everything but the gathered embedding tables, plus the
        // LM head (which is the token embedding itself when tied). With experts, all of them: the
        // upper bound that StreamedParamsAt lowers to the experts a step's tokens touch.
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

    /// <summary>Weights of the matrix products one token goes through in the layers (q|k|v, out, MLP; with experts, the router and its active and shared experts).</summary>
    public long LayerMatmulParams { get; }

    /// <summary>hidden x vocab: the LM head's matrix product, tied or not.</summary>
    public long LmHeadParams { get; }

    /// <summary>Weights of every matrix product one token goes through: layers plus LM head (with experts, the active parameters).</summary>
    public long MatmulParams { get; }

    /// <summary>Parameters one decode step reads in full (with experts, all of them: see <see cref="StreamedParamsAt"/>).</summary>
    public long StreamedParams { get; }

    /// <summary>Parameters of one expert's SwiGLU MLP: gate, up and down, 3 x hidden x expert width.</summary>
    public long ExpertParams { get; }

    /// <summary>hidden x experts per MoE layer; 0 for a dense model.</summary>
    public long RouterParams { get; }

    /// <summary>Parameters of all routed experts of all MoE layers.</summary>
    public long RoutedExpertParams { get; }

    /// <summary>
    /// Distinct routed experts of one MoE layer that <paramref name="tokens"/> tokens touch, expected
    /// under uniform independent routing: E x (1 - (1 - k/E)^tokens). k at one token, towards E at
    /// large batch; 0 for a dense model.
    /// </summary>
    public double ExpectedExpertsTouched(double tokens) =>
        Config.IsMixtureOfExperts && tokens > 0
            ? Config.Experts * (1 - Math.Pow(1 - (double)Config.ExpertsPerToken / Config.Experts, tokens))
            : 0;

    /// <summary>Parameters a forward pass over <paramref name="tokens"/> tokens reads: the streamed weights with only the touched routed experts.</summary>
    public double StreamedParamsAt(double tokens) =>
        StreamedParams - RoutedExpertParams + Config.MoeLayers * ExpectedExpertsTouched(tokens) * ExpertParams;

    /// <summary>K and V of one token over all layers: 2 x layers x kv_heads x head_dim x bytes.</summary>
    public long KvBytesPerToken(TensorDType dtype) => 2L * Config.Layers * Config.KvHeads * Config.HeadDim * dtype.Bytes();

    /// <summary>
    /// KV cache of one sequence holding <paramref name="context"/> tokens: K and V per layer and KV
    /// head, a sliding-window layer keeping at most its window.
    /// </summary>
    public double KvCacheBytes(double context, double bytesPerElement) =>
        2.0 * Config.KvHeads * Config.HeadDim * bytesPerElement * AttendedKeys(context);

    /// <summary>Keys attended over all layers by a token that sees <paramref name="context"/> keys: sliding-window layers see at most their window.</summary>
    public double AttendedKeys(double context) =>
        (Config.Layers - Config.SlidingWindowLayers) * context + Config.SlidingWindowLayers * Math.Min(context, (double)Config.SlidingWindow);

    /// <summary>
    /// Bytes of all weights: the dtype's size each, or with weight-only quantization the embedding tables in
    /// the dtype and every other weight at the quantization's bytes (<see cref="MatrixBytesPerWeight"/>; the
    /// norm gains, a few thousand, counted with them), plus the LM head's quantized copy when it is tied.
    /// </summary>
    public long WeightBytes(TensorDType dtype, WeightQuantization? quant = null)
    {
        if (quant is null)
        {
            return ParameterCount * dtype.Bytes();
        }

        long tables = TokenEmbeddingParams + PositionEmbeddingParams;
        long quantized = ParameterCount - tables + (Config.TieEmbeddings ? LmHeadParams : 0);
        return (tables * dtype.Bytes()) + (long)Math.Ceiling(quantized * MatrixBytesPerWeight(dtype, quant));
    }

    /// <summary>
    /// Bytes per weight of the matrix products: the dtype's, or the quantization's bits, scales (in the
    /// dtype, as MatMulNBits keeps them) and zero points (HardwareSpec.QuantizedBytesPerElement).
    /// </summary>
    public static double MatrixBytesPerWeight(TensorDType dtype, WeightQuantization? quant) =>
        quant?.BytesPerWeight(dtype.Bytes() * 8) ?? dtype.Bytes();

    /// <summary>
    /// FLOPs of one token that attends to <paramref name="context"/> keys (itself included):
    /// 2 x matmul weights (layers and LM head) + 4 x layers x hidden x context (QK^T and AV, 2 FLOPs
    /// per multiply-add each).
    /// </summary>
    public double FlopsPerToken(long context) => FlopsPerTokenAt(context);

    /// <summary><see cref="FlopsPerToken"/> at a fractional (mean) context.</summary>
    public double FlopsPerTokenAt(double context) => 2.0 * MatmulParams + AttentionFlopsAt(context);

    /// <summary>4 x layers x heads x head_dim x context (hidden = heads x head_dim in dense shapes): the attention score and value products of one query token; sliding-window layers attend to at most their window.</summary>
    public double AttentionFlops(long context) => AttentionFlopsAt(context);

    private double AttentionFlopsAt(double context) => 4.0 * Config.Heads * Config.HeadDim * AttendedKeys(context);

    /// <summary>
    /// FLOPs of the prefill of one sequence of <paramref name="promptTokens"/> tokens: every token
    /// through the layers, causal attention (token i attends to i keys), and the LM head for the last
    /// position only (the generator computes logits only where a token is sampled).
    /// </summary>
    public double PrefillFlops(long promptTokens) =>
        2.0 * LayerMatmulParams * promptTokens
        + 4.0 * Config.Heads * Config.HeadDim * CausalKeys(promptTokens)
        + 2.0 * LmHeadParams;

    /// <summary>Keys attended over all layers by a causal prefill of P tokens: P(P+1)/2 per full layer, fewer where a window cuts it.</summary>
    private double CausalKeys(long p)
    {
        double full = p * (p + 1) / 2.0;
        long w = Config.SlidingWindow;
        double windowed = w <= 0 || p <= w ? full : w * (w + 1) / 2.0 + (p - w) * (double)w;
        return (Config.Layers - Config.SlidingWindowLayers) * full + Config.SlidingWindowLayers * windowed;
    }

    /// <summary>
    /// Bytes one decode step moves at batch <paramref name="batch"/> when each sequence attends to
    /// <paramref name="context"/> keys: the streamed weights once, the KV cache of every sequence read
    /// (context tokens), and one new token's K and V written per sequence.
    /// </summary>
    public double BytesPerDecodeStep(int batch, long context, TensorDType weightType, TensorDType kvType) =>
        DecodeStepBytes(batch, context, weightType.Bytes(), kvType.Bytes());

    /// <summary>
    /// <see cref="BytesPerDecodeStep(int, long, TensorDType, TensorDType)"/> at any element size (fp8,
    /// fp4): with experts, the weights are those of the experts the batch's tokens touch.
    /// </summary>
    public double DecodeStepBytes(int batch, double context, double weightBytes, double kvBytes) =>
        StreamedParamsAt(batch) * weightBytes
        + batch * KvCacheBytes(context, kvBytes)
        + batch * KvCacheBytes(1, kvBytes);

    /// <summary>Mean context of the decode steps of a request: steps attend to prompt+1 .. prompt+new-1 keys.</summary>
    public static double MeanDecodeContext(int promptTokens, int newTokens) =>
        newTokens <= 1 ? promptTokens + 1 : promptTokens + newTokens / 2.0;
}
