using Harness.Projection;

namespace Harness.Planning;

/// <summary>The fleet each card type needs to serve a target rate under SLOs, with its price, power and CPU needs.</summary>
public sealed record CapacityPlan
{
    public string Kind { get; init; } = "capacity_plan";

    public int PlanVersion { get; init; } = 1;

    public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;

    public required string Workload { get; init; }

    public required string SourceCard { get; init; }

    /// <summary>The run's precision (weights, KV cache).</summary>
    public string SourcePrecision { get; init; } = "";

    public required double TargetOutputTokensPerS { get; init; }

    public required IReadOnlyList<string> Slo { get; init; }

    /// <summary>CPU cores per GPU from an agent result (cores_per_gpu_for_90pct_busy); null when none was given.</summary>
    public double? CpuCoresPerGpu { get; init; }

    /// <summary>Which answer the plan gives (<see cref="ProjectionAnswers"/>): engine or decoder.</summary>
    public string Answer { get; init; } = ProjectionAnswers.Engine;

    /// <summary>
    /// That answer in words, with the engine's residual per step and whether it was measured or assumed.
    /// </summary>
    public string AnswerRule { get; init; } = "";

    public required IReadOnlyList<CardPlan> Cards { get; init; }

    public List<string> Notes { get; init; } = [];
}

/// <summary>One card type's best configuration (highest tokens/s per GPU meeting every SLO) and what the fleet costs.</summary>
public sealed record CardPlan
{
    public required string Card { get; init; }

    public required string Name { get; init; }

    public required bool MeetsSlo { get; init; }

    /// <summary>The precision this card serves in (weights, KV cache).</summary>
    public string Precision { get; init; } = "";

    /// <summary>How the run's efficiencies carry to that precision, and how sure that is.</summary>
    public string? PrecisionRule { get; init; }

    /// <summary>Each part of the chosen configuration's projection and where it comes from (measured, published, catalog, assumed).</summary>
    public List<BasisItem> Basis { get; init; } = [];

    /// <summary>
    /// Which answer the chosen configuration's projection gives, with the engine's residual; null when none met the SLOs.
    /// </summary>
    public ProjectionAnswer? Answer { get; init; }

    /// <summary>Why no configuration meets the SLOs, when none does.</summary>
    public string? Why { get; init; }

    public int TensorParallel { get; init; }

    /// <summary>Expert-parallel GPUs per stage (1: the experts split TP ways).</summary>
    public int ExpertParallel { get; init; } = 1;

    /// <summary>Pipeline stages of a replica.</summary>
    public int PipelineParallel { get; init; } = 1;

    /// <summary>GPUs of one replica: max(TP, EP) x PP.</summary>
    public int GpusPerReplica { get; init; } = 1;

    /// <summary>The layout, its scale-up domain and the collectives of one decode step; null when none met the SLOs.</summary>
    public ProjectedCollectives? Collectives { get; init; }

    public int Batch { get; init; }

    /// <summary>Projected latency per SLO, e.g. "ttft_p99" in ms.</summary>
    public Dictionary<string, Estimate> SloValuesMs { get; init; } = [];

    public Estimate OutputTokensPerSPerGpu { get; init; }

    /// <summary>GPUs for the target rate (whole TP groups); low from the high throughput end and vice versa.</summary>
    public Estimate Gpus { get; init; }

    public double? CpuCores { get; init; }

    public Estimate? PowerKw { get; init; }

    public Estimate? EnergyMwhPerMonth { get; init; }

    /// <summary>Current catalog offers of this card, cheapest per month first.</summary>
    public List<OfferPlan> Offers { get; init; } = [];

    /// <summary>Every layout tried: its points over batch, tokens/s per GPU against tokens/s per user.</summary>
    public List<FrontierCurve> Curves { get; init; } = [];

    /// <summary>
    /// The points no other point of this card beats on both tokens/s per GPU and tokens/s per user, fastest per user first.
    /// </summary>
    public List<FrontierPoint> Frontier { get; init; } = [];

    /// <summary>
    /// The same target served by separate prefill and decode pools, compared with the aggregated plan; null when no pool meets the SLOs.
    /// </summary>
    public DisaggregatedPlan? Disaggregated { get; init; }
}

/// <summary>One layout at one batch: output tokens/s per GPU and per user (1000 / TPOT p50), and whether it meets every SLO.</summary>
public sealed record FrontierPoint(string Layout, int Gpus, int Batch, double TokensPerSPerUser, double TokensPerSPerGpu, bool MeetsSlo);

/// <summary>One layout's points over batch.</summary>
public sealed record FrontierCurve(string Layout, int TensorParallel, int ExpertParallel, int PipelineParallel, List<FrontierPoint> Points);

/// <summary>One pool of a disaggregated plan: its layout, batch, replicas and what one replica does.</summary>
/// <param name="LatencyMs">Prefill: TTFT p50 of the batch (KV transfer excluded); decode: TPOT p50.</param>
/// <param name="RatePerReplica">Prefill: requests/s; decode: output tokens/s.</param>
public sealed record PoolPlan(
    string Layout, int GpusPerReplica, int Batch, int Replicas, int Gpus, double LatencyMs, double RatePerReplica);

/// <summary>
/// Prefill and decode on separate pools (xPyD: x prefill replicas, y decode replicas), each at its own best
/// layout and batch under the SLOs that bind it (TTFT with the KV transfer for prefill, TPOT for decode).
/// </summary>
public sealed record DisaggregatedPlan(
    PoolPlan Prefill,
    PoolPlan Decode,
    string Ratio,
    double KvMbPerRequest,
    double KvTransferMs,
    string KvLink,
    int Gpus,
    double TokensPerSPerGpu,
    double? AggregatedGpus,
    double? GainPercent,
    string Verdict,
    Dictionary<string, double> SloValuesMs);

public sealed record OfferPlan(
    string Offer,
    string Pricing,
    string PriceDate,
    int Instances,
    double UsdPerHour,
    double UsdPerMonth,
    int? HostVcpus);
