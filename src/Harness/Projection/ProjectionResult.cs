using Harness.Metrics;

namespace Harness.Projection;

/// <summary>
/// A projection of one measured LLM run onto another card (the <c>harness project</c> file): every
/// projected figure is an <see cref="Estimate"/> {value, low, high}.
/// </summary>
public sealed record ProjectionResult
{
    public string Kind { get; init; } = "projection";

    public int ProjectionVersion { get; init; } = 1;

    public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;

    public required ProjectionSource Source { get; init; }

    public required ProjectionTarget Target { get; init; }

    /// <summary>Which answer the figures give: this harness's decoder or a production engine on the target.</summary>
    public required ProjectionAnswer Answer { get; init; }

    /// <summary>The run's and the target's precision, and how much is known about the change.</summary>
    public required ProjectionPrecision Precision { get; init; }

    public required ProjectionCalibration Calibration { get; init; }

    public required MemoryFit Memory { get; init; }

    /// <summary>The target's layout (TP, EP, PP), its domain and the collectives of one pass.</summary>
    public ProjectedCollectives? Collectives { get; init; }

    /// <summary>p50 figures on the target.</summary>
    public required ProjectedMetrics Metrics { get; init; }

    /// <summary>Tail latencies on the target, by percentile name, each calibrated on the run's own tail.</summary>
    public Dictionary<string, ProjectedLatency> Percentiles { get; init; } = [];

    public ProjectedPower? Power { get; init; }

    public ProjectedPrice? Price { get; init; }

    /// <summary>Each part of the projection and where it comes from: measured, published, catalog or assumed.</summary>
    public List<BasisItem> Basis { get; init; } = [];

    public List<string> Notes { get; init; } = [];

    public Dictionary<string, string> Model { get; init; } = new()
    {
        ["answer"] = "decoder: the step below; engine: GPU work / efficiency + all-reduce + a residual per pass, host overhead hidden",
        ["step"] = "per forward pass: overlapped max(host overhead, GPU work / efficiency + all-reduce) and serial host overhead + GPU work / efficiency + all-reduce; the value is their geometric mean, the error bars hold each",
        ["gpu_work"] = "max(FLOPs / (tp x compute ceiling), bytes / (tp x bandwidth ceiling)); ceilings are measured matrix/copy rates where both cards have them, else datasheet peaks",
        ["calibration"] = "decode: efficiency = max(prior, achieved); host overhead = what GPU work at that efficiency leaves unexplained (overlapped: the whole step; serial: the difference). prefill shares that host overhead; its compute efficiency is fitted from TTFT",
        ["all_reduce"] = "ring, 2 per layer per pass (1 on an MoE layer under EP): "
            + "2 (tp-1)/tp x tokens x hidden x 2 bytes / link + 2 (tp-1) x step latency",
        ["all_to_all"] = "EP: 2 per MoE layer (dispatch, combine): "
            + "(ep-1)/ep x tokens/width x k x hidden x 2 bytes / link + (ep-1) x step latency",
        ["pipeline"] = "PP: decode keeps PP microbatches in flight, TPOT = PP x stage time of B/PP; "
            + "prefill takes m + PP - 1 stage times (the bubble)",
        [MetricCatalog.OutputTokensPerS.Key] = "measured tokens/s x (target batch / run batch) x (TTFT + (new-1) TPOT) on the run / the same on the target",
        ["error_bars"] = "range over the measurement's median 95% CI, decode efficiency from achieved to the ceiling, overlapped vs serial host overhead, and, for a dtype measured on neither card, the carried efficiencies x (1 - 0.11)^steps to x 1 / (1 - 0.11)^steps (steps = halvings of the element size)",
        ["precision"] = "weights and KV cache bytes follow the target's dtypes (fp4 = NVFP4, 4.5 bits with scales); compute runs against the target's ceiling at its dtype; the run's efficiencies (fractions of its ceilings) and host overhead carry over",
        ["experts"] = "FLOPs per token count the active parameters (router, k routed and the shared experts); a decode step reads the routed experts its batch touches, E x (1 - (1 - k/E)^batch) per layer (uniform routing); memory holds all of them",
    };
}

public sealed record ProjectionSource(
    string Result,
    string? Workload,
    string? Model,
    string Card,
    int TensorParallel,
    int Batch,
    int PromptTokens,
    int NewTokens,
    string Dtype,
    double TtftMsP50,
    double TpotMsP50,
    double? OutputTokensPerS,
    bool CudaGraph = false);

/// <param name="Model">The model projected when it is not the run's (a larger one of the family); null: the run's.</param>
/// <param name="Gpus">GPUs of one replica: max(TP, EP) x PP.</param>
public sealed record ProjectionTarget(
    string Card,
    string Name,
    int TensorParallel,
    int Batch,
    int Gpus,
    string? Model = null,
    int ExpertParallel = 1,
    int PipelineParallel = 1,
    string? Domain = null,
    int DomainGpus = 1);

/// <summary>Precisions of the run and the target; the factor range the carried efficiencies were widened over (1-1 when the dtype was measured).</summary>
public sealed record ProjectionPrecision(
    string Run,
    string RunKvCache,
    string Target,
    string TargetKvCache,
    bool Changed,
    string MeasuredBy,
    Estimate EfficiencyFactor,
    string Rule);

/// <summary>One part of a projection and its source: measured (the run), published (someone else's measurement), catalog, or assumed.</summary>
public sealed record BasisItem(string Part, string Source, string Detail);

public sealed record ProjectionCalibration(
    string ComputeBasis,
    string BandwidthBasis,
    PhaseCalibration Prefill,
    PhaseCalibration Decode,
    ProjectionPriors Priors);

/// <summary>One phase's fit: efficiency against the ceiling and against the datasheet peak, and the host overhead per pass.</summary>
public sealed record PhaseCalibration(Estimate EfficiencyOfCeiling, Estimate FractionOfPeak, Estimate HostOverheadMs, string Bound);

public sealed record MemoryFit(double WeightsGb, double KvCacheGb, double PerGpuGb, double UsableGb, bool Fits);

public sealed record ProjectedMetrics(
    Estimate TtftMs,
    Estimate TpotMs,
    Estimate OutputTokensPerS,
    Estimate OutputTokensPerSPerGpu,
    Estimate Mfu,
    Estimate Mbu,
    Estimate AllReduceMsPerStep,
    Estimate? JPerToken,
    Estimate? UsdPerMtok);

public sealed record ProjectedLatency(Estimate TtftMs, Estimate TpotMs);

public sealed record ProjectedPower(Estimate WattsPerGpu, string Basis);

public sealed record ProjectedPrice(string Instance, string Pricing, double Value, string Unit, string Date, string Source, double UsdPerHour, string Basis);
