using Harness.Backends;
using Harness.Measurement;

namespace Harness.Projection;

/// <summary>
/// What a projection reads from an LLM decode result, and nothing more: the small contract that
/// keeps projection independent of the decoder workloads' code. docs/capacity.md lists the result
/// fields each property comes from.
/// </summary>
public sealed record LlmRunFacts
{
    /// <summary>Where the facts were read (a file path), for error sentences.</summary>
    public required string Origin { get; init; }

    public string? Workload { get; init; }

    public string? ModelName { get; init; }

    /// <summary>NVML name of the run's first GPU ("NVIDIA H100 80GB HBM3"); null on CPU runs.</summary>
    public string? GpuName { get; init; }

    public int TensorParallel { get; init; } = 1;

    public string Dtype { get; init; } = "bf16";

    /// <summary>The KV cache's element type where the result names it; null: 16-bit unless the weights are wider.</summary>
    public string? KvDtype { get; init; }

    /// <summary>
    /// Only the weights were quantized (the result's config has weight_quantization: the harness's int8/int4/fp8): the
    /// matrix products ran in the activations' 16-bit type whatever <see cref="Dtype"/> says, fp8 included.
    /// </summary>
    public bool WeightOnly { get; init; }

    /// <summary>The run's model config (models/NAME.json) where the result names one whose shape hash still matches: exact FLOPs and bytes, experts included.</summary>
    public DecoderConfig? Model { get; init; }

    /// <summary>
    /// Where the latencies were derived from a published throughput rather than measured (the
    /// source, pinned); null for a measured run. Such a run has no host overhead to fit.
    /// </summary>
    public string? Published { get; init; }

    /// <summary>
    /// The run's decode steps ran as a captured CUDA graph (config cuda_graph): its fitted host overhead is an engine's residual, measured.
    /// </summary>
    public bool CudaGraph { get; init; }

    /// <summary>Sequences decoded together in one request.</summary>
    public required int Batch { get; init; }

    public required int PromptTokens { get; init; }

    public required int NewTokens { get; init; }

    /// <summary>Parameter count (all weights); the weights' bytes are this times the dtype's size.</summary>
    public double? Params { get; init; }

    /// <summary>Forward FLOPs per token as the workload counts them; default 2 x params + attention.</summary>
    public double? FlopsPerToken { get; init; }

    /// <summary>Bytes moved per decode step at the run's batch; default weights + KV cache read.</summary>
    public double? BytesPerDecodeStep { get; init; }

    public ModelShape? Shape { get; init; }

    public required LatencyFacts Ttft { get; init; }

    public required LatencyFacts Tpot { get; init; }

    public double? OutputTokensPerS { get; init; }

    public double? PrefillTokensPerS { get; init; }

    public double? Mfu { get; init; }

    public double? Mbu { get; init; }

    /// <summary>Mean GPU board power over the measured window, watts per GPU.</summary>
    public double? AvgGpuPowerW { get; init; }
}

/// <summary>The model's shape where the result gives it: enough for the KV cache and the tensor-parallel all-reduces.</summary>
public sealed record ModelShape(int Layers, int Hidden, int Heads, int KvHeads, int HeadDim)
{
    public static ModelShape Of(DecoderConfig c) => new(c.Layers, c.Hidden, c.Heads, c.KvHeads, c.HeadDim);

    /// <summary>K and V of every layer for one token.</summary>
    public double KvBytesPerToken(double bytesPerElement) => 2.0 * Layers * KvHeads * HeadDim * bytesPerElement;

    /// <summary>Width of the attention (heads x head_dim), which sets the attention FLOPs.</summary>
    public int AttentionWidth => Heads * HeadDim;
}

/// <summary>One latency distribution of the result, milliseconds.</summary>
public sealed record LatencyFacts(double P50, double P90, double P95, double P99, double P999, double? MedianCiLow = null, double? MedianCiHigh = null)
{
    public static readonly IReadOnlyList<string> Names = ["p50", "p90", "p95", "p99", "p999"];

    public static LatencyFacts From(DistributionSummary d) => new(d.P50, d.P90, d.P95, d.P99, d.P999, d.MedianCiLow, d.MedianCiHigh);

    public static LatencyFacts Constant(double ms) => new(ms, ms, ms, ms, ms);

    public double At(string percentile) => percentile switch
    {
        "p50" => P50,
        "p90" => P90,
        "p95" => P95,
        "p99" => P99,
        "p999" => P999,
        _ => throw HarnessException.BadInput($"Unknown percentile '{percentile}'; use one of {string.Join(", ", Names)}."),
    };

    /// <summary>The measurement's own uncertainty at a percentile: the median's 95% interval for p50, none otherwise.</summary>
    public (double Low, double High) Spread(string percentile) =>
        percentile == "p50" && MedianCiLow is { } lo && MedianCiHigh is { } hi ? (Math.Min(lo, P50), Math.Max(hi, P50)) : (At(percentile), At(percentile));
}
