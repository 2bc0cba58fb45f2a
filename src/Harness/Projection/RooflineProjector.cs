using System.Globalization;
using Harness.Cost;
using Harness.Hardware.Catalog;
using static System.FormattableString;

namespace Harness.Projection;

/// <summary>
/// Projects a measured LLM run onto another card with a roofline calibrated on the run. Each forward
/// pass takes host overhead and GPU work / efficiency + all-reduce, either overlapped (max: kernels
/// are launched asynchronously, so a host-bound loop hides GPU work) or added (syncs and fixed
/// per-kernel costs); one run cannot tell which, so the center is the geometric mean of both and the
/// error bars hold each. The decode step fixes the bandwidth efficiency and the host overhead; prefill
/// shares that overhead and fixes the compute efficiency. The same fit on the target's ceilings gives
/// TTFT and TPOT.
/// </summary>
public static class RooflineProjector
{
    /// <summary>A run faster than this share of its ceiling is implausible; efficiencies are capped here.</summary>
    private const double MaxEfficiency = 1.5;

    public static ProjectionResult Project(LlmRunFacts facts, HardwareSpec source, HardwareSpec target, ProjectionOptions? options = null)
    {
        ProjectionOptions o = options ?? new ProjectionOptions();
        ProjectionPriors p = o.Priors;
        if (facts.Published is not null)
        {
            // Latencies derived from a throughput have no host overhead in them to fit.
            p = p with { DecodeEfficiency = 0 };
        }

        var notes = new List<string>();
        Precision runPrecision = Precision.OfRun(facts);
        Precision precision = runPrecision.With(o.Dtype, o.KvDtype);
        var srcWork = new LlmWorkModel(facts);
        var work = new LlmWorkModel(facts, precision, o.Model);
        Rates rates = Rates.For(source, target, runPrecision, precision);
        PrecisionChange change = PrecisionChange.Between(runPrecision, precision, rates.SourceDtype, rates.TargetDtype, source, target, p);

        if (o.Batch is < 1)
        {
            throw HarnessException.BadInput("The target batch must be at least 1.");
        }

        int ep = o.ExpertParallel ?? 1, pp = o.PipelineParallel ?? 1;
        int tp = ChooseTensorParallel(facts, work, target, o.FillMemory ? 1 : o.Batch ?? facts.Batch, o.TensorParallel, p, ep, pp);
        var par = new Parallelism(tp, ep, pp);
        int batch = o.FillMemory ? LargestBatch(work, target, par, p) : o.Batch ?? facts.Batch;
        MemoryFit memory = Memory(work, target, batch, par, p);
        if (facts.TensorParallel > 1 && srcWork.Shape is null)
        {
            throw HarnessException.BadInput($"Result {facts.Origin} ran at TP {facts.TensorParallel} but gives no model_config (layers, hidden size, heads) for its all-reduce term.");
        }

        // Host work per pass is per layer (kernel launches): another model scales it by its layers.
        bool otherModel = o.Model is not null && (facts.Model is null || facts.Model.ShapeHash() != o.Model.ShapeHash());
        double hostScale = otherModel && work.Layers is { } lt && srcWork.Layers is { } ls ? (double)lt / ls : 1;

        // GPU work at the full ceiling (seconds) and all-reduce time, on the run and on the target.
        int tpS = facts.TensorParallel;
        var src = new PassWork(
            Math.Max(srcWork.PrefillFlops(facts.Batch) / (tpS * rates.SourceCompute), srcWork.PrefillBytes(facts.Batch) / (tpS * rates.SourceBandwidth)),
            AllReduce(source, tpS, facts.Batch * (double)facts.PromptTokens, srcWork.Shape, p),
            Math.Max(srcWork.DecodeFlops(facts.Batch) / (tpS * rates.SourceCompute), srcWork.DecodeBytes(facts.Batch) / (tpS * rates.SourceBandwidth)),
            AllReduce(source, tpS, facts.Batch, srcWork.Shape, p));
        var pass = ParallelPass.Of(work, rates.TargetCompute, rates.TargetBandwidth, target, par, batch, facts.PromptTokens, p);
        var tgt = new PassWork(pass.PrefillWork, pass.PrefillComm, pass.DecodeWork, pass.DecodeComm, hostScale, change.Factors,
            change.CenterCompute, change.CenterBandwidth);

        // The answer: this harness's decoder (host overhead carried over) or a production engine (device
        // time + a residual: a CUDA-graph run's or a published engine figure's own, else assumed).
        string answer = ProjectionAnswers.Choose(o.Answer, source, target);
        bool residualMeasured = facts.CudaGraph || facts.Published is not null;
        EngineResidual? engine = answer == ProjectionAnswers.Engine
            ? new EngineResidual(residualMeasured, p.EngineResidualMs / 1000)
            : null;

        // p50: calibrate and project at every corner of the uncertainty.
        Corners p50 = Evaluate(facts, "p50", src, tgt, p, engine);
        var percentiles = new Dictionary<string, ProjectedLatency>();
        foreach (string pct in o.TailPercentiles.Where(x => x != "p50").Distinct())
        {
            Corners c = Evaluate(facts, pct, src, tgt, p, engine);
            percentiles[pct] = new ProjectedLatency(c.Ttft, c.Tpot);
        }

        // Tokens/s: the run's own rate, scaled by batch and by the modelled request time.
        double runRequest = Request(facts, facts.Ttft.P50, facts.Tpot.P50);
        Estimate tps = p50.Request.Map(r => facts.OutputTokensPerS is { } measured
            ? measured * batch / facts.Batch * runRequest / r
            : batch * (double)facts.NewTokens / (r / 1000));
        int gpus = par.Gpus;
        Estimate perGpu = tps.Map(t => t / gpus);
        double peakC = target.PeakFlops(change.TargetCompute) ?? rates.TargetCompute;
        double peakB = target.PeakBandwidth ?? rates.TargetBandwidth;
        Estimate mfu = p50.Ttft.Map(ms => work.PrefillFlops(batch) / (ms / 1000 * gpus * peakC));
        Estimate mbu = p50.Tpot.Map(ms => work.DecodeBytes(batch) / (ms / 1000 * gpus * peakB));

        ProjectedPower? power = Power(facts, source, target, p);
        Estimate? joules = power is null ? null : new Estimate(
            power.WattsPerGpu.Value * gpus / tps.Value, power.WattsPerGpu.Low * gpus / tps.High, power.WattsPerGpu.High * gpus / tps.Low);

        PriceOffer? offer = o.Price ?? CheapestOffer(o.Offers, target);
        ProjectedPrice? price = null;
        Estimate? usdPerMtok = null;
        if (offer is not null)
        {
            HourlyCharge charge = CostCalculator.Charge(offer, gpus);
            usdPerMtok = tps.Map(t => CostCalculator.UsdPerMillion(charge.UsdPerHour, t));
            price = new ProjectedPrice(offer.Id, offer.Pricing, offer.Price.Usd, offer.Price.Unit,
                offer.Price.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), offer.Price.Source, charge.UsdPerHour, charge.Basis);
        }
        else
        {
            notes.Add($"No current price for {target.Id} in the catalog: usd_per_mtok is left out (give --instance or --price).");
        }

        if (p50.MaxAchieved > 1.05)
        {
            notes.Add($"The run reached {p50.MaxAchieved:0.##}x its ceiling in one phase: check params, flops_per_token and bytes_per_decode_step in the result.");
        }

        if (batch != facts.Batch)
        {
            notes.Add(o.FillMemory
                ? $"Batch {batch}: the largest whose KV cache at {facts.PromptTokens + facts.NewTokens} tokens fits beside the weights (--batch max), extrapolated from the run's batch {facts.Batch}."
                : $"Batch {batch} extrapolated from the run's batch {facts.Batch}: the KV and compute terms scale, "
                    + (engine is null ? "the host overhead is kept." : "the residual per step is kept."));
        }

        if (source.Id == target.Id && tp == tpS && gpus == tpS && batch == facts.Batch && !change.Changed && !otherModel && engine is null)
        {
            notes.Add("Target is the measured card: the projection reproduces the run (a self-check).");
        }

        string residualSource = residualMeasured ? (facts.Published is not null ? "published" : "measured") : "assumed";
        string residualBasis = !residualMeasured
            ? Invariant($"the run is not a CUDA-graph run: {p.EngineResidualMs:0.###} ms per pass assumed (docs/capacity.md, Two answers)")
            : facts.Published is not null
                ? "the published figure is a production engine's: its own fitted host overhead per step (the serial fit) is the residual"
                : "the run's decode steps ran as a CUDA graph (config cuda_graph): "
                    + "its fitted host overhead per step (serial: TPOT - GPU work / efficiency) is the residual";
        ProjectionAnswer projectionAnswer = ProjectionAnswer.Of(answer, target.Id, p50.ResidualMs, residualSource, residualBasis);
        List<BasisItem> basis = ProjectionBasis.Describe(
            facts, source, target, rates, change, work, otherModel, hostScale, batch, tp, o.FillMemory, p, power);
        if (par.Gpus > 1 || facts.TensorParallel > 1)
        {
            ProjectedCollectives cm = pass.Comm;
            basis.Add(new BasisItem("parallelism", "catalog", Invariant(
                $"{cm.Layout} on {cm.Gpus} GPU(s); {cm.Domain} domain of {cm.DomainGpus} GPUs; scale-up link {cm.ScaleUpLink}")
                + (cm.PipelineLink is null ? "" : $"; stages linked over {cm.PipelineLink}")));
        }

        if (engine is not null)
        {
            string detail = Invariant($"{p50.ResidualMs:0.###} ms at p50: {residualBasis}");
            basis.Add(new BasisItem("engine residual per step", residualSource, detail));
        }

        double srcPeakC = source.PeakFlops(change.RunCompute) ?? rates.SourceCompute;
        double srcPeakB = source.PeakBandwidth ?? rates.SourceBandwidth;
        return new ProjectionResult
        {
            Source = new ProjectionSource(facts.Origin, facts.Workload, facts.ModelName, source.Id, tpS, facts.Batch, facts.PromptTokens, facts.NewTokens,
                runPrecision.Weights, facts.Ttft.P50, facts.Tpot.P50, facts.OutputTokensPerS, facts.CudaGraph),
            Target = new ProjectionTarget(target.Id, target.Name, tp, batch, gpus, otherModel ? work.Model!.Name : null, ep, pp,
                target.ScaleUp?.Name, Math.Max(1, target.DomainGpus)),
            Collectives = pass.Comm,
            Answer = projectionAnswer,
            Precision = change.Describe(),
            Calibration = new ProjectionCalibration(
                rates.ComputeBasis,
                rates.BandwidthBasis,
                new PhaseCalibration(p50.PrefillEfficiency, p50.PrefillEfficiency.Map(e => e * rates.SourceCompute / srcPeakC), p50.PrefillHostMs, p50.PrefillBound),
                new PhaseCalibration(p50.DecodeEfficiency, p50.DecodeEfficiency.Map(e => e * rates.SourceBandwidth / srcPeakB), p50.DecodeHostMs, p50.DecodeBound),
                p),
            Memory = memory,
            Metrics = new ProjectedMetrics(p50.Ttft, p50.Tpot, tps, perGpu, mfu, mbu, Estimate.Exact(pass.Comm.AllReduceMs), joules, usdPerMtok),
            Percentiles = percentiles,
            Power = power,
            Price = price,
            Basis = basis,
            Notes = notes,
        };
    }

    /// <summary>
    /// The largest batch whose weights and KV cache at prompt + new tokens fit at this TP (the
    /// throughput-optimal batch where throughput grows with batch), at most the prior's cap.
    /// </summary>
    public static int LargestBatch(LlmWorkModel work, HardwareSpec target, int tp, ProjectionPriors p) =>
        LargestBatch(work, target, Parallelism.Tensor(tp), p);

    /// <summary>The largest batch that fits one replica laid out by <paramref name="par"/>.</summary>
    public static int LargestBatch(LlmWorkModel work, HardwareSpec target, Parallelism par, ProjectionPriors p)
    {
        int lo = 1, hi = p.LargestBatch;
        if (!Memory(work, target, lo, par, p).Fits)
        {
            return lo;
        }

        while (lo < hi)
        {
            int mid = lo + (hi - lo + 1) / 2;
            if (Memory(work, target, mid, par, p).Fits)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }

    /// <summary>Smallest power-of-two TP (or the given one) whose GPUs hold the weights and KV cache.</summary>
    public static int ChooseTensorParallel(
        LlmRunFacts facts, LlmWorkModel work, HardwareSpec target, int batch, int? requested, ProjectionPriors p, int ep = 1, int pp = 1)
    {
        int domain = Math.Max(1, target.DomainGpus);
        bool moe = work.MoeLayers > 0;
        if (requested is { } tp)
        {
            if (ep == 1 && (tp < 1 || tp > domain))
            {
                throw HarnessException.BadInput($"--tp {tp} is outside 1..{domain}, the GPUs in one {target.ScaleUp?.Name ?? "scale-up"} domain of {target.Id}.");
            }

            if (tp > 1 && work.Shape is null)
            {
                throw HarnessException.BadInput($"TP {tp} needs the model's shape for its all-reduce term, and result {facts.Origin} gives no model_config (layers, hidden size, heads).");
            }

            var asked = new Parallelism(tp, ep, pp);
            asked.Check(target, moe);
            if (!Memory(work, target, batch, asked, p).Fits)
            {
                string at = ep == 1 && pp == 1 ? $"even at TP {tp}" : $"even at {asked.Label}";
                throw DoesNotFit(facts, work, target, batch, asked, p, at);
            }

            return tp;
        }

        for (int t = 1; t <= domain; t *= 2)
        {
            if (ep > 1 && ep % t != 0)
            {
                continue;
            }

            var layout = new Parallelism(t, ep, pp);
            layout.Check(target, moe);
            if (Memory(work, target, batch, layout, p).Fits)
            {
                if (t > 1 && work.Shape is null)
                {
                    throw HarnessException.BadInput($"The model needs TP {t} on {target.Id}, and result {facts.Origin} gives no model_config (layers, hidden size, heads) for the all-reduce term.");
                }

                return t;
            }
        }

        int largest = 1;
        while (largest * 2 <= domain)
        {
            largest *= 2;
        }

        var widest = new Parallelism(ep > 1 ? Math.Min(largest, ep) : largest, ep, pp);
        string widestLabel = ep == 1 && pp == 1 ? $"TP {widest.Tp}" : widest.Label;
        throw DoesNotFit(facts, work, target, batch, widest, p,
            $"even at {widestLabel}, the largest power of two in its {domain}-GPU domain (--pp spreads it over more domains)");
    }

    public static MemoryFit Memory(LlmWorkModel work, HardwareSpec target, int batch, int tp, ProjectionPriors p) =>
        Memory(work, target, batch, Parallelism.Tensor(tp), p);

    /// <summary>
    /// Weights and full KV cache per GPU of a replica: (weights but routed experts / TP + routed experts / expert shards) / PP
    /// + KV / (Width x PP), against <see cref="ProjectionPriors.MemoryHeadroom"/> of the usable memory.
    /// </summary>
    public static MemoryFit Memory(LlmWorkModel work, HardwareSpec target, int batch, Parallelism par, ProjectionPriors p)
    {
        double usable = (target.UsableMemoryBytes ?? 0) * p.MemoryHeadroom;
        double weights = work.WeightBytes ?? work.DecodeBytes(batch);
        double kv = work.KvCacheBytes(batch);
        double routed = Math.Min(work.RoutedWeightBytes, weights);
        double perGpu = ((weights - routed) / par.Tp + routed / par.ExpertShards) / par.Pp + kv / (par.Width * (double)par.Pp);
        return new MemoryFit(Math.Round(weights / 1e9, 3), Math.Round(kv / 1e9, 3), Math.Round(perGpu / 1e9, 3), Math.Round(usable / 1e9, 3), perGpu <= usable);
    }

    private static HarnessException DoesNotFit(
        LlmRunFacts facts, LlmWorkModel work, HardwareSpec target, int batch, Parallelism par, ProjectionPriors p, string how)
    {
        MemoryFit m = Memory(work, target, batch, par, p);
        string tp = par.Ep == 1 && par.Pp == 1 ? $"TP {par.Tp}" : par.Label;
        string model = work.Model?.Name ?? facts.ModelName ?? "The model";
        return HarnessException.BadInput(
            $"{model} at batch {batch} in {work.Precision} needs {m.PerGpuGb:0.#} GB per GPU at {tp} (weights {m.WeightsGb:0.#} GB + KV cache {m.KvCacheGb:0.#} GB), "
            + $"more than the {m.UsableGb:0.#} GB usable ({p.MemoryHeadroom:P0} of {(target.UsableMemoryBytes ?? 0) / 1e9:0.#} GB) on {target.Id}: it does not fit {how}.");
    }

    /// <summary>
    /// Two ring all-reduces per layer per pass over the activations of <paramref name="tokens"/> tokens (the measured run's TP); 0 at TP 1.
    /// </summary>
    public static double AllReduce(HardwareSpec card, int tp, double tokens, ModelShape? shape, ProjectionPriors p)
    {
        if (tp <= 1 || shape is null)
        {
            return 0;
        }

        double message = tokens * shape.Hidden * 2;
        return 2.0 * shape.Layers * Collectives.RingAllReduce(message, tp, Link.ScaleUp(card, p));
    }

    private static PriceOffer? CheapestOffer(IReadOnlyList<PriceOffer> offers, HardwareSpec target)
    {
        var mine = offers.Where(x => string.Equals(x.Device, target.Id, StringComparison.OrdinalIgnoreCase) && x.UsdPerGpuHour is not null).ToList();
        var onDemand = mine.Where(x => x.Pricing == "on-demand").ToList();
        return (onDemand.Count > 0 ? onDemand : mine).OrderBy(x => x.UsdPerGpuHour).FirstOrDefault();
    }

    private static ProjectedPower? Power(LlmRunFacts facts, HardwareSpec source, HardwareSpec target, ProjectionPriors p)
    {
        if (target.PowerW is not { } rated)
        {
            return null;
        }

        if (facts.AvgGpuPowerW is { } measured && source.PowerW is { } sourceRated)
        {
            double load = Math.Clamp(measured / sourceRated.Value, 0.05, 1.0);
            return new ProjectedPower(Estimate.Exact(rated.Value * load),
                $"the run's measured {measured:0} W is {load:P0} of the {source.Id}'s {sourceRated.Value:0} W; the same share of the {target.Id}'s {rated.Value:0} W");
        }

        return new ProjectedPower(new Estimate(rated.Value * p.PowerLoad, rated.Value * p.PowerLoadLow, rated.Value * p.PowerLoadHigh),
            $"no power in the run: {p.PowerLoad:P0} ({p.PowerLoadLow:P0}-{p.PowerLoadHigh:P0}) of the {target.Id}'s rated {rated.Value:0} W");
    }

    private static double Request(LlmRunFacts facts, double ttftMs, double tpotMs) => ttftMs + (facts.NewTokens - 1) * tpotMs;

    /// <summary>
    /// Calibrates on the run and predicts the target at one percentile, at the center and at every
    /// corner: the measurement's spread x decode efficiency (achieved, prior, ceiling) x overlap or additive.
    /// </summary>
    private static Corners Evaluate(LlmRunFacts facts, string pct, PassWork src, PassWork tgt, ProjectionPriors p, EngineResidual? engine)
    {
        double tpot = facts.Tpot.At(pct) / 1000, ttft = facts.Ttft.At(pct) / 1000;
        (double tpotLo, double tpotHi) = facts.Tpot.Spread(pct);
        (double ttftLo, double ttftHi) = facts.Ttft.Spread(pct);
        double achieved = Achieved(tpot, src.DecodeWork, src.DecodeComm);
        // One run cannot tell host overhead that overlaps GPU work (asynchronous launches) from overhead
        // that adds to it (syncs, fixed per-kernel costs): the center is the geometric mean of both.
        Fit center = Fit.Calibrate(tpot, ttft, Math.Max(p.DecodeEfficiency, achieved), overlap: true, src, p);
        Fit serial = Fit.Calibrate(tpot, ttft, Math.Max(p.DecodeEfficiency, achieved), overlap: false, src, p);
        // The engine's residual: a measured run's own host overhead per step (serial fit), else the assumed one.
        double? residual = engine is null ? null : engine.Measured ? serial.HostS : engine.AssumedS;
        (double oTtft, double oTpot) = center.Predict(tgt, 1, residual);
        (double aTtft, double aTpot) = serial.Predict(tgt, 1, residual);
        double cTtft = Math.Sqrt(oTtft * aTtft), cTpot = Math.Sqrt(oTpot * aTpot);

        var ttfts = new List<double>();
        var tpots = new List<double>();
        var requests = new List<double>();
        var decodeEff = new List<double>();
        var prefillEff = new List<double>();
        var decodeHost = new List<double>();
        var prefillHost = new List<double>();
        double maxAchieved = Math.Max(achieved, center.PrefillEfficiency);
        foreach ((double tpotS, double ttftS) in MeasuredCorners(facts, tpot, ttft, (tpotLo / 1000, tpotHi / 1000), (ttftLo / 1000, ttftHi / 1000)))
        {
            double ach = Achieved(tpotS, src.DecodeWork, src.DecodeComm);
            foreach (double eta in new[] { ach, Math.Max(p.DecodeEfficiency, ach), Math.Max(1, ach) })
            {
                foreach (bool overlap in new[] { true, false })
                {
                    Fit f = Fit.Calibrate(tpotS, ttftS, eta, overlap, src, p);
                    foreach (double scale in tgt.EfficiencyFactors)
                    {
                        (double a, double b) = f.Predict(tgt, scale, residual);
                        ttfts.Add(a * 1000);
                        tpots.Add(b * 1000);
                        requests.Add(Request(facts, a * 1000, b * 1000));
                    }

                    decodeEff.Add(f.DecodeEfficiency);
                    prefillEff.Add(f.PrefillEfficiency);
                    decodeHost.Add(f.HostS * 1000);
                    prefillHost.Add(f.PrefillHostS * 1000);
                }
            }
        }

        return new Corners(
            Estimate.FromCorners(cTtft * 1000, ttfts),
            Estimate.FromCorners(cTpot * 1000, tpots),
            Estimate.FromCorners(Request(facts, cTtft * 1000, cTpot * 1000), requests),
            Estimate.FromCorners(center.DecodeEfficiency, decodeEff),
            Estimate.FromCorners(center.PrefillEfficiency, prefillEff),
            Estimate.FromCorners(center.HostS * 1000, decodeHost),
            Estimate.FromCorners(center.PrefillHostS * 1000, prefillHost),
            center.HostS > 0 ? "host" : "gpu",
            center.PrefillHostS >= ttft && center.PrefillHostS > 0 ? "host" : "gpu",
            maxAchieved,
            (residual ?? 0) * 1000);
    }

    /// <summary>
    /// The (TPOT, TTFT) pairs, seconds, the calibration is tried at: every combination of the median
    /// and its CI ends for a measured run; for latencies derived from a published throughput, whose
    /// request time is fixed, the center and the two opposite splits.
    /// </summary>
    private static IEnumerable<(double Tpot, double Ttft)> MeasuredCorners(LlmRunFacts facts, double tpot, double ttft, (double Lo, double Hi) tpotCi, (double Lo, double Hi) ttftCi)
    {
        if (facts.Published is not null)
        {
            return [(tpot, ttft), (tpotCi.Hi, ttftCi.Lo), (tpotCi.Lo, ttftCi.Hi)];
        }

        return from a in new[] { tpotCi.Lo, tpot, tpotCi.Hi } from b in new[] { ttftCi.Lo, ttft, ttftCi.Hi } select (a, b);
    }

    /// <summary>The efficiency the measured time implies if the pass had no host overhead at all.</summary>
    private static double Achieved(double measuredS, double workS, double commS) =>
        measuredS > commS ? Math.Min(MaxEfficiency, workS / (measuredS - commS)) : MaxEfficiency;

    /// <summary>
    /// GPU work at the full ceiling and all-reduce time of one prefill and one decode pass, seconds;
    /// on the target also the host overhead's scale (another model's layers) and the factors the
    /// carried efficiencies range over (an unmeasured dtype).
    /// </summary>
    private sealed record PassWork(
        double PrefillWork,
        double PrefillComm,
        double DecodeWork,
        double DecodeComm,
        double HostScale = 1,
        IReadOnlyList<double>? Factors = null,
        double CenterCompute = 1,
        double CenterBandwidth = 1)
    {
        public IReadOnlyList<double> EfficiencyFactors => Factors ?? [1.0];
    }

    private sealed record Corners(
        Estimate Ttft,
        Estimate Tpot,
        Estimate Request,
        Estimate DecodeEfficiency,
        Estimate PrefillEfficiency,
        Estimate DecodeHostMs,
        Estimate PrefillHostMs,
        string DecodeBound,
        string PrefillBound,
        double MaxAchieved,
        double ResidualMs);

    /// <summary>The engine answer's residual per pass: the run's own (measured) or <paramref name="AssumedS"/>, seconds.</summary>
    private sealed record EngineResidual(bool Measured, double AssumedS);

    /// <summary>One calibration: efficiencies of both phases and their host overheads, in one of the two forms.</summary>
    private sealed record Fit(double DecodeEfficiency, double HostS, double PrefillEfficiency, double PrefillHostS, bool Overlap)
    {
        public static Fit Calibrate(double tpotS, double ttftS, double decodeEta, bool overlap, PassWork src, ProjectionPriors p)
        {
            double gpu = src.DecodeWork / decodeEta + src.DecodeComm;
            // A step the GPU work explains (to rounding) has no host overhead.
            double host = overlap ? (gpu < tpotS * (1 - 1e-9) ? tpotS : 0) : Math.Max(0, tpotS - gpu);

            // Prefill shares the host overhead of a pass; past it, TTFT is GPU work.
            double rest = overlap ? ttftS - src.PrefillComm : ttftS - host - src.PrefillComm;
            bool gpuBound = overlap ? ttftS > host && rest > 0 : rest > 0;
            if (gpuBound)
            {
                return new Fit(decodeEta, host, Math.Min(MaxEfficiency, src.PrefillWork / rest), host, overlap);
            }

            double prefillEta = Math.Max(p.PrefillEfficiency, Achieved(ttftS, src.PrefillWork, src.PrefillComm));
            double prefillHost = overlap ? ttftS : Math.Max(0, ttftS - src.PrefillWork / prefillEta - src.PrefillComm);
            return new Fit(decodeEta, host, prefillEta, prefillHost, overlap);
        }

        /// <summary>
        /// (TTFT, TPOT) in seconds on the target, the efficiencies scaled by <paramref name="scale"/> (capped) and the host
        /// overhead by the target's; with a <paramref name="residual"/> (the engine answer) device time + the residual instead.
        /// </summary>
        public (double Ttft, double Tpot) Predict(PassWork t, double scale, double? residual = null)
        {
            double prefillGpu = t.PrefillWork / Math.Min(MaxEfficiency, PrefillEfficiency * scale * t.CenterCompute) + t.PrefillComm;
            double decodeGpu = t.DecodeWork / Math.Min(MaxEfficiency, DecodeEfficiency * scale * t.CenterBandwidth) + t.DecodeComm;
            if (residual is { } r)
            {
                return (prefillGpu + r, decodeGpu + r);
            }

            double host = HostS * t.HostScale, prefillHost = PrefillHostS * t.HostScale;
            return Overlap
                ? (Math.Max(prefillHost, prefillGpu), Math.Max(host, decodeGpu))
                : (prefillHost + prefillGpu, host + decodeGpu);
        }
    }

    /// <summary>
    /// Compute and bandwidth ceilings of both cards on one basis (measured where both have it, else
    /// datasheet), compute at each side's dtype: the run's on the source, the target's on the target.
    /// </summary>
    internal sealed record Rates(double SourceCompute, double TargetCompute, double SourceBandwidth, double TargetBandwidth, string ComputeBasis, string BandwidthBasis, bool MeasuredCompute, bool MeasuredBandwidth, string SourceDtype, string TargetDtype)
    {
        public static Rates For(HardwareSpec source, HardwareSpec target, Precision run, Precision precision)
        {
            bool measuredBandwidth = source.MeasuredBandwidth is not null && target.MeasuredBandwidth is not null;
            double sb = (measuredBandwidth ? source.MeasuredBandwidth : source.PeakBandwidth ?? source.MeasuredBandwidth)
                ?? throw HarnessException.BadInput($"The catalog has no memory bandwidth for {source.Id}: runs on it can be costed but not projected.");
            double tb = (measuredBandwidth ? target.MeasuredBandwidth : target.PeakBandwidth ?? target.MeasuredBandwidth)
                ?? throw HarnessException.BadInput($"The catalog has no memory bandwidth for {target.Id}; it cannot be a projection target.");
            string sourceDtype = run.ComputeDtypeOn(source), targetDtype = precision.ComputeDtypeOn(target);
            bool measuredCompute = source.MeasuredFlops(sourceDtype) is not null && target.MeasuredFlops(targetDtype) is not null;
            double sc = (measuredCompute ? source.MeasuredFlops(sourceDtype) : source.PeakFlops(sourceDtype) ?? source.MeasuredFlops(sourceDtype))
                ?? throw HarnessException.BadInput($"The catalog has no {sourceDtype} rate for {source.Id}, the measured card.");
            double tc = (measuredCompute ? target.MeasuredFlops(targetDtype) : target.PeakFlops(targetDtype) ?? target.MeasuredFlops(targetDtype))
                ?? throw HarnessException.BadInput($"The catalog has no {targetDtype} rate for {target.Id}; {CatalogFile.Known(target.PeakDenseTflops.Keys)}");
            string dtypes = sourceDtype == targetDtype ? "" : $" ({sourceDtype} on {source.Id}, {targetDtype} on {target.Id})";
            return new Rates(sc, tc, sb, tb,
                (measuredCompute ? "measured matrix-product ceilings of both cards" : "datasheet dense peaks") + dtypes,
                measuredBandwidth ? "measured copy ceilings of both cards" : "datasheet peaks",
                measuredCompute,
                measuredBandwidth,
                sourceDtype,
                targetDtype);
        }
    }
}
