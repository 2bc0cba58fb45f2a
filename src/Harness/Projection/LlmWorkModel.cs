using Harness.Backends;
using Harness.Models;

namespace Harness.Projection;

/// <summary>
/// FLOPs, bytes and memory of one forward pass of a model at a precision, at any batch: the
/// numerators of the roofline. Three sources, best first: the run's own flops_per_token and
/// bytes_per_decode_step (for the run's model; its bytes rescaled to another precision), the model's
/// config (<see cref="DecoderCost"/>: exact, experts included), or the parameter count and shape
/// (dense: prefill FLOPs = batch x prompt x (2 x params + 2 x layers x attention width x prompt); a
/// decode step reads the weights once plus the KV cache of every sequence at its mean context,
/// prompt + new/2).
/// </summary>
public sealed class LlmWorkModel
{
    private readonly LlmRunFacts _facts;
    private readonly DecoderCost? _cost;
    private readonly bool _runModel;
    private readonly Precision _run;

    /// <param name="facts">The measured run.</param>
    /// <param name="precision">Element types of the pass; null keeps the run's.</param>
    /// <param name="model">The model to cost; null keeps the run's (a different model drops the run's own FLOPs and bytes figures).</param>
    public LlmWorkModel(LlmRunFacts facts, Precision? precision = null, DecoderConfig? model = null)
    {
        _facts = facts;
        _run = Precision.OfRun(facts);
        Precision = precision ?? _run;
        _runModel = model is null || (facts.Model is { } own && own.ShapeHash() == model.ShapeHash());
        DecoderConfig? config = model ?? facts.Model;
        _cost = config is null ? null : new DecoderCost(config);
        Model = config;
        Params = _cost?.ParameterCount ?? facts.Params;
        WeightBytes = Params * Precision.WeightBytes;
        Shape = config is null ? facts.Shape : ModelShape.Of(config);
    }

    public Precision Precision { get; }

    /// <summary>The model's config where known (null: the run's parameter count and shape only).</summary>
    public DecoderConfig? Model { get; }

    public ModelShape? Shape { get; }

    /// <summary>All parameters (with experts, every expert: they are all resident); null when only the run's FLOPs and bytes are known.</summary>
    public double? Params { get; }

    /// <summary>Bytes of all weights at the precision; null when the result gives no parameter count.</summary>
    public double? WeightBytes { get; }

    /// <summary>Layers of the model, for scaling per-layer host work between models; null when unknown.</summary>
    public int? Layers => Shape?.Layers;

    public double MeanDecodeContext => _facts.PromptTokens + _facts.NewTokens / 2.0;

    /// <summary>KV cache bytes of one sequence holding <paramref name="context"/> tokens (0 when the model's shape is unknown).</summary>
    public double KvBytes(double context) =>
        _cost?.KvCacheBytes(context, Precision.KvBytes) ?? (Shape?.KvBytesPerToken(Precision.KvBytes) ?? 0) * context;

    public double PrefillFlops(int batch)
    {
        if (_runModel && _facts.FlopsPerToken is { } given)
        {
            return batch * (double)_facts.PromptTokens * given;
        }

        if (_cost is not null)
        {
            return batch * _cost.PrefillFlops(_facts.PromptTokens);
        }

        double perToken = 2 * Params!.Value + 2.0 * (Shape?.Layers ?? 0) * (Shape?.AttentionWidth ?? 0) * _facts.PromptTokens;
        return batch * (double)_facts.PromptTokens * perToken;
    }

    /// <summary>Weights read once (with experts, those the prompt tokens touch), the prompt's KV written.</summary>
    public double PrefillBytes(int batch)
    {
        double weights = _cost is not null
            ? _cost.StreamedParamsAt(batch * (double)_facts.PromptTokens) * Precision.WeightBytes
            : WeightBytes ?? DecodeBytes(1);
        return weights + batch * KvBytes(_facts.PromptTokens);
    }

    public double DecodeFlops(int batch)
    {
        if (_runModel && _facts.FlopsPerToken is { } given)
        {
            return batch * given;
        }

        if (_cost is not null)
        {
            return batch * _cost.FlopsPerTokenAt(MeanDecodeContext);
        }

        return batch * (2 * Params!.Value + 4.0 * (Shape?.Layers ?? 0) * (Shape?.AttentionWidth ?? 0) * MeanDecodeContext);
    }

    /// <summary>
    /// Bytes one decode step moves at a batch: the run's figure split into weights and a KV part that
    /// scales with batch, each rescaled to this precision; else the config's weights (with experts,
    /// those the batch touches) plus KV read and written; else weights + KV read.
    /// </summary>
    public double DecodeBytes(int batch)
    {
        if (_runModel && _facts.BytesPerDecodeStep is { } given)
        {
            double runWeights = Math.Min(_facts.Params is { } p ? p * _run.WeightBytes : given, given);
            double weights = runWeights * Precision.WeightBytes / _run.WeightBytes;
            double kv = (given - runWeights) * Precision.KvBytes / _run.KvBytes;
            return batch == _facts.Batch && Precision == _run ? given : weights + kv * batch / _facts.Batch;
        }

        if (_cost is not null)
        {
            return _cost.DecodeStepBytes(batch, MeanDecodeContext, Precision.WeightBytes, Precision.KvBytes);
        }

        return WeightBytes!.Value + batch * KvBytes(MeanDecodeContext);
    }

    /// <summary>The KV part of <see cref="DecodeBytes"/>: the cache read at the mean context (and the new token's written).</summary>
    public double DecodeKvBytes(int batch)
    {
        if (_runModel && _facts.BytesPerDecodeStep is { } given)
        {
            double runWeights = Math.Min(_facts.Params is { } p ? p * _run.WeightBytes : given, given);
            return (given - runWeights) * Precision.KvBytes / _run.KvBytes * batch / _facts.Batch;
        }

        if (_cost is not null)
        {
            return batch * (_cost.KvCacheBytes(MeanDecodeContext, Precision.KvBytes) + _cost.KvCacheBytes(1, Precision.KvBytes));
        }

        return batch * KvBytes(MeanDecodeContext);
    }

    /// <summary>The KV part of <see cref="PrefillBytes"/>: the prompts' cache written.</summary>
    public double PrefillKvBytes(int batch) => batch * KvBytes(_facts.PromptTokens);

    /// <summary>Bytes of the routed experts <paramref name="tokens"/> tokens touch over all MoE layers (0 for a dense model).</summary>
    public double RoutedBytesAt(double tokens) =>
        _cost is null ? 0 : (Model?.MoeLayers ?? 0) * _cost.ExpectedExpertsTouched(tokens) * _cost.ExpertParams * Precision.WeightBytes;

    /// <summary>Bytes of all routed experts (0 for a dense model): the weights expert parallelism splits.</summary>
    public double RoutedWeightBytes => _cost is null ? 0 : _cost.RoutedExpertParams * Precision.WeightBytes;

    /// <summary>Routed experts each token goes through (0 for a dense model).</summary>
    public int ExpertsPerToken => Model?.IsMixtureOfExperts == true ? Model.ExpertsPerToken : 0;

    /// <summary>Layers with routed experts (0 for a dense model).</summary>
    public int MoeLayers => Model?.MoeLayers ?? 0;

    /// <summary>KV cache of a batch at full context (prompt + new tokens).</summary>
    public double KvCacheBytes(int batch) => batch * KvBytes(_facts.PromptTokens + _facts.NewTokens);

    /// <summary>Weights plus full KV cache: what must fit in the GPUs' memory.</summary>
    public double MemoryBytes(int batch) => (WeightBytes ?? DecodeBytes(batch)) + KvCacheBytes(batch);
}
