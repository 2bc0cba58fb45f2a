using Harness.Backends;
using Harness.Cost;

namespace Harness.Projection;

/// <summary>
/// The model's assumptions where one measured run cannot decide, each used as the center of a range
/// whose ends are also evaluated (the error bars), except the link and memory figures.
/// </summary>
public sealed record ProjectionPriors
{
    public static ProjectionPriors Default { get; } = new();

    /// <summary>
    /// Share of the bandwidth ceiling a decode step's GPU work is taken to reach when the step is
    /// host-bound (slower than this would explain). 0.8 of the measured copy ceiling is about 0.72 of
    /// the datasheet on an H100, inside the 0.6-0.8 planning range of research/capacity.md 4.3.
    /// </summary>
    public double DecodeEfficiency { get; init; } = 0.8;

    /// <summary>Share of the compute ceiling a host-bound prefill is taken to reach (0.35-0.5 MFU planning range over a 0.8 ceiling).</summary>
    public double PrefillEfficiency { get; init; } = 0.6;

    /// <summary>Latency of one step of a ring collective on a scale-up link the catalog gives none for, microseconds (assumed).</summary>
    public double ScaleUpStepLatencyUs { get; init; } = 1.0;

    /// <summary>
    /// Network bandwidth per GPU between domains where the catalog has none: 400 Gb/s, one ConnectX-7 per GPU (assumed), GB/s.
    /// </summary>
    public double ScaleOutGbps { get; init; } = 50;

    /// <summary>Latency of one step over the network between domains where the catalog has none (RDMA), microseconds (assumed).</summary>
    public double ScaleOutStepLatencyUs { get; init; } = 5.0;

    /// <summary>
    /// Share of a run's fraction of its compute ceiling that fp4 matrix products reach on the target, for a change to fp4
    /// that no card measured (the inverse for a change from fp4). Fitted on the calibration set only
    /// (results/published/split.json; scripts/published/calibrate.py: 10 fp8 H200 -> fp4 B200/GB200 pairs of the
    /// trtllm-v1.0 round, Llama-3.3-70B, fitted 0.620 compute and 0.735 bandwidth).
    /// </summary>
    public double Fp4ComputeEfficiency { get; init; } = 0.62;

    /// <summary>
    /// The same for the bandwidth term (the decode step) of a change to fp4; fitted with <see cref="Fp4ComputeEfficiency"/>.
    /// </summary>
    public double Fp4BandwidthEfficiency { get; init; } = 0.735;

    /// <summary>Achieved share of the datasheet link bandwidth where none was measured: 396 of 450 GB/s on 8xH200 (stas00).</summary>
    public double LinkEfficiency { get; init; } = 0.88;

    /// <summary>Share of the usable memory that weights and KV cache may take; the rest is workspace (callgideon METHODOLOGY 3).</summary>
    public double MemoryHeadroom { get; init; } = 0.9;

    /// <summary>GPU power as a share of the card's rated power when the run measured none: 0.7, range 0.4-0.9 (research/capacity.md 5.1).</summary>
    public double PowerLoad { get; init; } = 0.7;

    public double PowerLoadLow { get; init; } = 0.4;

    public double PowerLoadHigh { get; init; } = 0.9;

    /// <summary>
    /// How much a matrix-product ceiling's share of the datasheet peak may change per halving of the
    /// element size, for a dtype measured on neither card: the largest bf16-to-fp8 change among the
    /// catalog's cards with both measured (H100 SXM: 786.5 of 989 = 0.795, 1,402.6 of 1,979 = 0.709,
    /// 11%). The carried efficiencies range over x (1 - this)^steps to x 1 / (1 - this)^steps.
    /// </summary>
    public double UnmeasuredDtypeChangePerStep { get; init; } = 0.11;

    /// <summary>
    /// Host time per pass a production engine does not hide (the "engine" answer), where the run
    /// cannot measure it: an assumption, not a measurement (docs/capacity.md, "Two answers"). A CUDA
    /// graph replay is one launch per step (tens of microseconds); what overlapped scheduling cannot
    /// hide is the per-step read of the sampled tokens and the next batch's bookkeeping, taken as 0.5 ms.
    /// </summary>
    public double EngineResidualMs { get; init; } = 0.5;

    /// <summary>The largest batch --batch max tries: trtllm-bench's own cap on its KV-derived batch (tensorrt_llm/bench/build/tuning.py).</summary>
    public int LargestBatch { get; init; } = 4096;
}

/// <summary>What to project to, beyond the target card.</summary>
public sealed record ProjectionOptions
{
    /// <summary>Tensor-parallel GPUs on the target; null picks the smallest power of two that fits the memory.</summary>
    public int? TensorParallel { get; init; }

    /// <summary>Expert-parallel GPUs per stage on the target (a mixture of experts); null: 1, the experts split TP ways.</summary>
    public int? ExpertParallel { get; init; }

    /// <summary>Pipeline stages on the target; null: 1.</summary>
    public int? PipelineParallel { get; init; }

    /// <summary>Batch on the target; null keeps the run's.</summary>
    public int? Batch { get; init; }

    /// <summary>
    /// Take the largest batch whose KV cache at prompt + new tokens fits beside the weights (what a
    /// throughput benchmark such as trtllm-bench sizes its batch by), instead of <see cref="Batch"/>.
    /// </summary>
    public bool FillMemory { get; init; }

    /// <summary>Weight dtype on the target (bf16, fp16, fp8, fp4); null keeps the run's.</summary>
    public string? Dtype { get; init; }

    /// <summary>KV cache dtype on the target; null keeps the run's.</summary>
    public string? KvDtype { get; init; }

    /// <summary>The model on the target, when it is not the run's (a larger one of the family): its FLOPs, bytes and memory replace the run's; the run's efficiencies carry over.</summary>
    public DecoderConfig? Model { get; init; }

    /// <summary>
    /// Which answer (<see cref="ProjectionAnswers"/>): decoder or engine; null picks the decoder on
    /// the measured card and the engine on another.
    /// </summary>
    public string? Answer { get; init; }

    /// <summary>Tail percentiles projected beside p50 (for SLO checks).</summary>
    public IReadOnlyList<string> TailPercentiles { get; init; } = ["p99"];

    /// <summary>The price to apply; null takes the cheapest current offer of the target among <see cref="Offers"/>.</summary>
    public PriceOffer? Price { get; init; }

    public IReadOnlyList<PriceOffer> Offers { get; init; } = [];

    public ProjectionPriors Priors { get; init; } = ProjectionPriors.Default;
}
