using System.Globalization;
using Harness.Hardware.Catalog;

namespace Harness.Projection;

/// <summary>
/// A change of precision between the run and the target, and how much is known about it. The
/// matrix products run in <see cref="Precision.ComputeDtypeOn"/> on each card. The target's is
/// measured when the run ran in it, or when the catalog has a measured ceiling for it on either
/// card; otherwise the carried efficiencies range over x (1 - c)^steps to x 1 / (1 - c)^steps,
/// c = <see cref="ProjectionPriors.UnmeasuredDtypeChangePerStep"/>, steps = halvings between the two
/// products' dtypes.
/// </summary>
internal sealed record PrecisionChange(Precision Run, Precision Target, string RunCompute, string TargetCompute, string? MeasuredBy, int Steps, double Low, double PerStep)
{
    /// <summary>
    /// Centre factor on the carried compute efficiency: the calibrated fp4 share for a change to fp4 measured on neither card,
    /// its inverse for a change from fp4, else 1.
    /// </summary>
    public double CenterCompute { get; init; } = 1;

    /// <summary>The same on the bandwidth efficiency.</summary>
    public double CenterBandwidth { get; init; } = 1;

    /// <summary>Whether the bytes or the matrix products' dtype differ from the run's.</summary>
    public bool Changed => Run != Target || RunCompute != TargetCompute;

    public bool Widened => Low < 1;

    public IReadOnlyList<double> Factors => Widened ? [Low, 1.0, 1 / Low] : [1.0];

    public static PrecisionChange Between(Precision run, Precision target, string runCompute, string dtype, HardwareSpec source, HardwareSpec card, ProjectionPriors p)
    {
        var cards = new[] { source, card }.Where(c => c.MeasuredFlops(dtype) is not null).Select(c => c.Id).Distinct().ToList();
        string? by = runCompute == dtype ? "the run"
            : cards.Count > 0 ? $"the catalog's measured {dtype} ceilings of {string.Join(" and ", cards)}"
            : null;
        int steps = Precision.StepsBetween(runCompute, dtype);
        double low = by is null && steps > 0 ? Math.Pow(1 - p.UnmeasuredDtypeChangePerStep, steps) : 1;
        bool toFp4 = by is null && dtype == "fp4" && runCompute != "fp4", fromFp4 = by is null && runCompute == "fp4" && dtype != "fp4";
        return new PrecisionChange(run, target, runCompute, dtype, by, steps, low, p.UnmeasuredDtypeChangePerStep)
        {
            CenterCompute = toFp4 ? p.Fp4ComputeEfficiency : fromFp4 ? 1 / p.Fp4ComputeEfficiency : 1,
            CenterBandwidth = toFp4 ? p.Fp4BandwidthEfficiency : fromFp4 ? 1 / p.Fp4BandwidthEfficiency : 1,
        };
    }

    private string Calibrated() => CenterCompute == 1 && CenterBandwidth == 1
        ? ""
        : string.Create(CultureInfo.InvariantCulture, $" x{CenterCompute:0.###} (compute) and x{CenterBandwidth:0.###} (bandwidth), ")
            + "fp4's shares fitted on the calibration set (results/published/split.json)";

    public ProjectionPrecision Describe()
    {
        var c = CultureInfo.InvariantCulture;
        string dtype = TargetCompute;
        string widened = Target.ComputeDtype == dtype ? "" : $" (weights stored in {Target.Weights}, widened to {dtype} for the matrix products: the target has no {Target.ComputeDtype} rate)";
        string rule = !Changed ? "the run's precision: its efficiencies carry over as measured"
            : RunCompute == dtype ? $"the matrix products stay in {dtype}, as measured by the run{widened}: bytes follow the dtypes, the efficiencies carry over"
            : MeasuredBy is not null ? $"{dtype} measured on a card ({MeasuredBy}){widened}: the run's fractions of its ceilings carry over to the target's {dtype} ceiling"
            : string.Create(c, $"{dtype} measured on neither card{widened}: the run's fractions of its ceilings carry over{Calibrated()}, widened to x{Low:0.##}-{1 / Low:0.##} ({PerStep:P0} per halving of the element width, the largest bf16-to-fp8 change of a measured ceiling in the catalog, over {Steps} halving{(Steps == 1 ? "" : "s")})");
        return new ProjectionPrecision(Run.Weights, Run.KvCache, Target.Weights, Target.KvCache, Changed, MeasuredBy ?? "neither card",
            new Estimate(1, Low, 1 / Low), rule);
    }
}

/// <summary>Which parts of a projection were measured, published, taken from the catalog or assumed, in words.</summary>
internal static class ProjectionBasis
{
    public static List<BasisItem> Describe(
        LlmRunFacts facts,
        HardwareSpec source,
        HardwareSpec target,
        RooflineProjector.Rates rates,
        PrecisionChange change,
        LlmWorkModel work,
        bool otherModel,
        double hostScale,
        int batch,
        int tp,
        bool fillMemory,
        ProjectionPriors p,
        ProjectedPower? power)
    {
        var c = CultureInfo.InvariantCulture;
        var list = new List<BasisItem>();
        if (facts.Published is { } published)
        {
            list.Add(new("throughput", "published", published));
            list.Add(new("latencies", "assumed", "TTFT and TPOT split the published request time so that prefill and decode run at the same fraction of their rooflines; the error bar takes prefill from half to twice decode's fraction; no host overhead (a GPU-bound throughput run)"));
        }
        else
        {
            list.Add(new("latencies", "measured", string.Create(c, $"TTFT p50 {facts.Ttft.P50:0.###} ms, TPOT p50 {facts.Tpot.P50:0.###} ms at batch {facts.Batch}, {change.Run} on {source.Id} ({facts.Origin})")));
            list.Add(new("efficiencies", "measured", $"fractions of the compute and bandwidth ceilings and the host overhead per pass, fitted on the run (calibration); host-bound phases take the priors (decode {p.DecodeEfficiency:0.##}, prefill {p.PrefillEfficiency:0.##} of the ceiling), which are assumed"));
        }

        list.Add(new("compute ceilings", "catalog", $"{Rate(source, change.RunCompute, rates.MeasuredCompute)}; {Rate(target, change.TargetCompute, rates.MeasuredCompute)}"));
        list.Add(new("bandwidth ceilings", "catalog", $"{Bandwidth(source, rates.MeasuredBandwidth)}; {Bandwidth(target, rates.MeasuredBandwidth)}"));
        list.Add(new("memory", "catalog", string.Create(c, $"{target.Id}: {(target.UsableMemoryBytes ?? 0) / 1e9:0.#} GB usable per GPU, of which {p.MemoryHeadroom:P0} for weights and KV cache (assumed)")));
        list.Add(new("model", "catalog", ModelBasis(facts, work, otherModel)));
        if (change.Changed)
        {
            list.Add(new("precision", change.Widened ? "assumed" : change.MeasuredBy == "the run" ? "measured" : "catalog", $"{change.Run} on the run, {change.Target} on the target: weight and KV bytes follow the element sizes (catalog: fp4 = NVFP4, 4.5 bits with its scales); {change.Describe().Rule}"));
        }

        if (facts.KvDtype is null && change.Target.KvCache == change.Run.KvCache)
        {
            list.Add(new("KV cache dtype", "assumed", $"{change.Target.KvCache}: the result names none (16-bit unless the weights are wider); give --kv-dtype"));
        }

        if (otherModel)
        {
            list.Add(new("model change", "assumed", string.Create(c, $"the run's efficiencies on {facts.ModelName ?? "its model"} carry over to {work.Model!.Name}; host overhead per pass scales with the layers, x{hostScale:0.##}")));
        }

        if (work.Model is { IsMixtureOfExperts: true } moe)
        {
            double touched = new Models.DecoderCost(moe).ExpectedExpertsTouched(batch);
            list.Add(new("experts read", "assumed", string.Create(c, $"uniform, independent routing: a decode step at batch {batch} reads {touched:0.#} of {moe.Experts} experts per layer (E x (1 - (1 - k/E)^batch), k = {moe.ExpertsPerToken}); memory holds all of them")));
        }

        if (fillMemory)
        {
            list.Add(new("batch", "assumed", $"{batch}: the largest whose KV cache at prompt + new tokens fits beside the weights, as trtllm-bench sizes its batch"));
        }

        if (tp > 1 || facts.TensorParallel > 1)
        {
            list.Add(new("all-reduce", "assumed", string.Create(c,
                $"ring, the catalog's per-step latency (else {p.ScaleUpStepLatencyUs:0.#} us) and the link's measured bandwidth ")
                + string.Create(c, $"where known, else {p.LinkEfficiency:P0} of the datasheet")));
        }

        list.Add(power?.Basis.StartsWith("no power", StringComparison.Ordinal) == false
            ? new BasisItem("power", "measured", power.Basis)
            : new BasisItem("power", "assumed", power?.Basis ?? "the catalog has no rated power for the target"));
        return list;
    }

    private static string ModelBasis(LlmRunFacts facts, LlmWorkModel work, bool otherModel)
    {
        if (work.Model is { } m && (otherModel || facts.FlopsPerToken is null || facts.BytesPerDecodeStep is null))
        {
            return $"{m.Name} ({m.Path ?? "models/" + m.Name + ".json"}): {m.Source}";
        }

        return facts.FlopsPerToken is not null || facts.BytesPerDecodeStep is not null
            ? "the run's own flops_per_token / bytes_per_decode_step, with its params and model_config"
            : "the run's params and model_config (dense: 2 x params FLOPs per token, all weights read per step)";
    }

    private static string Rate(HardwareSpec card, string dtype, bool measured)
    {
        Quantity? q = measured && card.Measured?.Tflops.TryGetValue(dtype, out Quantity? m) == true ? m
            : card.PeakDenseTflops.GetValueOrDefault(dtype) ?? card.Measured?.Tflops.GetValueOrDefault(dtype);
        return q is null ? $"{card.Id} {dtype}: none" : string.Create(CultureInfo.InvariantCulture, $"{card.Id} {dtype} {q.Value:#,0.#} TFLOP/s ({(measured ? "measured" : "datasheet")}, {q.Source} {q.Date}, grade {q.Grade})");
    }

    private static string Bandwidth(HardwareSpec card, bool measured)
    {
        Quantity? q = measured ? card.Measured?.MemoryBandwidthTbps : card.MemoryBandwidthTbps ?? card.Measured?.MemoryBandwidthTbps;
        return q is null ? $"{card.Id}: none" : string.Create(CultureInfo.InvariantCulture, $"{card.Id} {q.Value:0.##} TB/s ({(measured ? "measured" : "datasheet")}, {q.Source} {q.Date}, grade {q.Grade})");
    }
}
