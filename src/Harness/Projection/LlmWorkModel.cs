using Harness.Hardware.Catalog;

namespace Harness.Projection;

/// <summary>
/// FLOPs, bytes and memory of one forward pass of the measured model, at any batch: the numerators
/// of the roofline. Prefill FLOPs = batch x prompt x (2 x params + 2 x layers x attention width x
/// prompt); a decode step reads the weights once plus the KV cache of every sequence at its mean
/// context (prompt + new/2). The run's own flops_per_token and bytes_per_decode_step win where given.
/// </summary>
public sealed class LlmWorkModel
{
    /// <summary>The KV cache is kept in 16-bit unless the weights are wider.</summary>
    private const double KvBytesPerElement = 2;

    private readonly LlmRunFacts _facts;

    public LlmWorkModel(LlmRunFacts facts)
    {
        _facts = facts;
        double elem = HardwareSpec.BytesPerElement(facts.Dtype);
        WeightBytes = facts.Params * elem;
        KvBytesPerToken = facts.Shape?.KvBytesPerToken(Math.Max(KvBytesPerElement, elem)) ?? 0;
    }

    /// <summary>Bytes of all weights; null when the result gives no parameter count.</summary>
    public double? WeightBytes { get; }

    /// <summary>KV cache bytes per token of context (0 when the model's shape is unknown).</summary>
    public double KvBytesPerToken { get; }

    public double MeanDecodeContext => _facts.PromptTokens + _facts.NewTokens / 2.0;

    public double PrefillFlops(int batch)
    {
        double perToken = _facts.FlopsPerToken
            ?? 2 * _facts.Params!.Value + 2.0 * (_facts.Shape?.Layers ?? 0) * (_facts.Shape?.AttentionWidth ?? 0) * _facts.PromptTokens;
        return batch * (double)_facts.PromptTokens * perToken;
    }

    /// <summary>Weights read once, the prompt's KV written.</summary>
    public double PrefillBytes(int batch) => (WeightBytes ?? DecodeBytes(1)) + batch * (double)_facts.PromptTokens * KvBytesPerToken;

    public double DecodeFlops(int batch)
    {
        double perToken = _facts.FlopsPerToken
            ?? 2 * _facts.Params!.Value + 4.0 * (_facts.Shape?.Layers ?? 0) * (_facts.Shape?.AttentionWidth ?? 0) * MeanDecodeContext;
        return batch * perToken;
    }

    /// <summary>Bytes one decode step moves at a batch: the run's figure scaled by its batch-dependent (KV) part, else weights + KV read.</summary>
    public double DecodeBytes(int batch)
    {
        if (_facts.BytesPerDecodeStep is { } given)
        {
            if (batch == _facts.Batch)
            {
                return given;
            }

            double weights = Math.Min(WeightBytes ?? given, given);
            return weights + (given - weights) * batch / _facts.Batch;
        }

        return WeightBytes!.Value + batch * MeanDecodeContext * KvBytesPerToken;
    }

    /// <summary>KV cache of a batch at full context (prompt + new tokens).</summary>
    public double KvCacheBytes(int batch) => batch * (double)(_facts.PromptTokens + _facts.NewTokens) * KvBytesPerToken;

    /// <summary>Weights plus full KV cache: what must fit in the GPUs' memory.</summary>
    public double MemoryBytes(int batch) => (WeightBytes ?? DecodeBytes(batch)) + KvCacheBytes(batch);
}
