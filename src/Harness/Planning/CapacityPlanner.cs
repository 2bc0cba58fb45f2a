using Harness.Cost;
using Harness.Engine;
using Harness.Hardware.Catalog;
using Harness.Projection;
using static System.FormattableString;

namespace Harness.Planning;

/// <summary>Everything a plan needs, already read and validated.</summary>
public sealed record PlanRequest
{
    public required LlmRunFacts Workload { get; init; }

    public required HardwareSpec Source { get; init; }

    public required double TargetOutputTokensPerS { get; init; }

    /// <summary>Objectives on TTFT and TPOT at the percentiles a projection gives (<see cref="CapacityPlanner.PercentileKeys"/>), in the grammar of run's --slo.</summary>
    public required IReadOnlyList<ServiceLevelObjective> Slos { get; init; }

    public required IReadOnlyList<HardwareSpec> Cards { get; init; }

    public required PriceCatalog Prices { get; init; }

    public required PriceAgePolicy Policy { get; init; }

    public double? CpuCoresPerGpu { get; init; }

    /// <summary>Largest batch tried; batches are powers of two up to it, plus the run's own.</summary>
    public int MaxBatch { get; init; } = 256;

    public ProjectionPriors Priors { get; init; } = ProjectionPriors.Default;

    /// <summary>
    /// Which answer to plan with (<see cref="ProjectionAnswers"/>): a production engine on each card unless asked otherwise.
    /// </summary>
    public string Answer { get; init; } = ProjectionAnswers.Engine;

    /// <summary>Weight dtype each card serves in; unnamed cards keep the run's.</summary>
    public CardChoice Dtype { get; init; } = CardChoice.None;

    public CardChoice KvDtype { get; init; } = CardChoice.None;

    /// <summary>The model to serve when it is not the run's (a larger one of the family).</summary>
    public Backends.DecoderConfig? Model { get; init; }
}

/// <summary>
/// Sizes a fleet per card type: projects the measured run to each card at every layout (TP, EP, PP; see
/// <see cref="Layouts"/>) that fits and every batch up to the limit, keeps the configurations whose projected
/// latencies meet every SLO, picks the one with the most tokens/s per GPU, and prices the GPUs it takes. Every
/// point tried draws the card's frontier (tokens/s per GPU against tokens/s per user); the same points size the
/// disaggregated alternative (<see cref="Disaggregation"/>).
/// </summary>
public static class CapacityPlanner
{
    /// <summary>Pipeline stages tried when no single-stage layout holds the model.</summary>
    private static readonly int[] PipelineStages = [2, 4, 8];

    public static readonly IReadOnlyList<string> DefaultCards = ["h100-sxm", "h200", "b200", "gb200", "gb300"];

    /// <summary>The percentiles a projection gives, by the names its latencies are kept under.</summary>
    public static readonly IReadOnlyDictionary<double, string> PercentileKeys = new Dictionary<double, string>
    {
        [0.50] = "p50",
        [0.90] = "p90",
        [0.95] = "p95",
        [0.99] = "p99",
        [0.999] = "p999",
    };

    public static CapacityPlan Plan(PlanRequest r)
    {
        foreach (ServiceLevelObjective slo in r.Slos)
        {
            if (slo.Metric is not ("ttft" or "tpot") || KeyOrNull(slo) is null)
            {
                throw HarnessException.BadInput($"--slo '{slo}' cannot be planned: a plan projects TTFT and TPOT at p50, p90, p95, p99 or p99.9 (e.g. ttft_p99<500ms,tpot_p99<50ms).");
            }
        }

        string answer = ProjectionAnswers.Choose(r.Answer, r.Source, r.Cards.Count > 0 ? r.Cards[0] : r.Source);
        var percentiles = r.Slos.Select(Key).Distinct().ToList();
        var cards = r.Cards.Select(card => PlanCard(r with { Answer = answer }, card, percentiles)).ToList();
        var notes = new List<string>
        {
            "Latencies are of static batches (prefill of the whole batch, then decode); queueing in a continuous-batching server is not modelled.",
        };
        if (cards.Any(c => c.MeetsSlo && c.Batch != r.Workload.Batch))
        {
            notes.Add($"Batches other than the run's {r.Workload.Batch} are extrapolated: measure the chosen batch to confirm.");
        }

        if (r.CpuCoresPerGpu is null)
        {
            notes.Add("CPU cores: no agent result given (--agents); host vCPUs of each offer are listed for reference.");
        }

        if (r.Model is { } model)
        {
            notes.Add($"Model {model.Name} is planned from a run of {r.Workload.ModelName ?? "another model"}: its FLOPs, bytes and memory with the run's efficiencies.");
        }

        if (r.Workload.Published is { } published)
        {
            notes.Add($"The input is a published throughput, not a run: {published}.");
        }

        return new CapacityPlan
        {
            Workload = r.Model?.Name ?? r.Workload.ModelName ?? r.Workload.Workload ?? r.Workload.Origin,
            SourcePrecision = Precision.OfRun(r.Workload).ToString(),
            SourceCard = r.Source.Id,
            TargetOutputTokensPerS = r.TargetOutputTokensPerS,
            Slo = r.Slos.Select(s => s.ToString()).ToList(),
            CpuCoresPerGpu = r.CpuCoresPerGpu,
            Answer = answer,
            AnswerRule = AnswerRule(answer, cards.Select(c => c.Answer).FirstOrDefault(a => a is not null)),
            Cards = cards,
            Notes = notes,
        };
    }

    private static CardPlan PlanCard(PlanRequest r, HardwareSpec card, IReadOnlyList<string> percentiles)
    {
        Precision precision = Precision.OfRun(r.Workload).With(r.Dtype.For(card.Id), r.KvDtype.For(card.Id));
        var work = new LlmWorkModel(r.Workload, precision, r.Model);
        ProjectionResult? best = null;
        (double Ratio, ProjectionResult P)? closest = null;
        var tried = new List<ProjectionResult>();
        var curves = new List<FrontierCurve>();
        foreach (Parallelism par in Layouts(card, work, r))
        {
            var points = new List<FrontierPoint>();
            foreach (int batch in Batches(r))
            {
                if (!RooflineProjector.Memory(work, card, batch, par, r.Priors).Fits)
                {
                    continue;
                }

                ProjectionResult p = RooflineProjector.Project(r.Workload, r.Source, card, new ProjectionOptions
                {
                    TensorParallel = par.Tp,
                    ExpertParallel = par.Ep,
                    PipelineParallel = par.Pp,
                    Batch = batch,
                    Dtype = precision.Weights,
                    KvDtype = precision.KvCache,
                    Model = r.Model,
                    TailPercentiles = percentiles,
                    Priors = r.Priors,
                    Answer = r.Answer,
                });
                tried.Add(p);
                double worst = r.Slos.Max(s => Latency(p, s).Value / s.LimitMs);
                points.Add(new FrontierPoint(par.Label, par.Gpus, batch, Math.Round(1000 / p.Metrics.TpotMs.Value, 2),
                    Math.Round(p.Metrics.OutputTokensPerSPerGpu.Value, 1), worst <= 1));
                if (worst <= 1 && (best is null || p.Metrics.OutputTokensPerSPerGpu.Value > best.Metrics.OutputTokensPerSPerGpu.Value))
                {
                    best = p;
                }

                if (closest is null || worst < closest.Value.Ratio)
                {
                    closest = (worst, p);
                }
            }

            if (points.Count > 0)
            {
                curves.Add(new FrontierCurve(par.Label, par.Tp, par.Ep, par.Pp, points));
            }
        }

        List<FrontierPoint> frontier = Frontier(curves.SelectMany(c => c.Points));
        if (best is null)
        {
            string why = closest is { } c
                ? $"closest: {Layout(c.P)} x batch {c.P.Target.Batch} gives "
                    + string.Join(", ", r.Slos.Select(s => $"{s.Metric}_{Key(s)} {Latency(c.P, s).Value:0.#} ms"))
                : "the model does not fit at any layout in its scale-up domain";
            return new CardPlan
            {
                Card = card.Id, Name = card.Name, MeetsSlo = false, Precision = precision.ToString(),
                Why = $"no layout and batch meet the SLO in {precision}; {why}",
                Curves = curves, Frontier = frontier, Disaggregated = Disaggregation.Plan(r, card, work, tried, null),
            };
        }

        CardPlan sized = Sized(r, card, best);
        return sized with { Curves = curves, Frontier = frontier, Disaggregated = Disaggregation.Plan(r, card, work, tried, sized) };
    }

    /// <summary>The points of a card that no other point beats on both axes, fastest per user first.</summary>
    public static List<FrontierPoint> Frontier(IEnumerable<FrontierPoint> points)
    {
        var sorted = points.OrderByDescending(x => x.TokensPerSPerUser).ThenByDescending(x => x.TokensPerSPerGpu).ToList();
        var kept = new List<FrontierPoint>();
        double bestPerGpu = double.NegativeInfinity;
        foreach (FrontierPoint x in sorted)
        {
            if (x.TokensPerSPerGpu > bestPerGpu)
            {
                kept.Add(x);
                bestPerGpu = x.TokensPerSPerGpu;
            }
        }

        return kept;
    }

    internal static string Layout(ProjectionResult p) =>
        new Parallelism(p.Target.TensorParallel, p.Target.ExpertParallel, p.Target.PipelineParallel).Label;

    /// <summary>
    /// The layouts tried on a card: power-of-two TP inside its domain; for a mixture of experts also EP = TP x 2^j inside
    /// the domain (attention data-parallel over EP / TP groups); pipeline stages (2, 4, 8, across domains) only when no
    /// layout of one stage holds the model at batch 1.
    /// </summary>
    public static IEnumerable<Parallelism> Layouts(HardwareSpec card, LlmWorkModel work, PlanRequest r)
    {
        int domain = work.Shape is null ? 1 : Math.Max(1, card.DomainGpus);
        var one = new List<Parallelism>();
        for (int tp = 1; tp <= domain; tp *= 2)
        {
            one.Add(new Parallelism(tp));
            for (int ep = tp * 2; work.MoeLayers > 0 && ep <= domain; ep *= 2)
            {
                one.Add(new Parallelism(tp, ep));
            }
        }

        if (one.Any(x => RooflineProjector.Memory(work, card, 1, x, r.Priors).Fits))
        {
            return one;
        }

        return PipelineStages.SelectMany(pp => one.Select(x => x with { Pp = pp }));
    }

    private static CardPlan Sized(PlanRequest r, HardwareSpec card, ProjectionResult p)
    {
        int tp = p.Target.Gpus;
        Estimate replicaTps = p.Metrics.OutputTokensPerS;
        double Gpus(double tps) => Math.Ceiling(r.TargetOutputTokensPerS / tps) * tp;
        var gpus = new Estimate(Gpus(replicaTps.Value), Gpus(replicaTps.High), Gpus(replicaTps.Low));
        Estimate? kw = p.Power is { } power ? power.WattsPerGpu.Times(gpus).Map(w => w / 1000) : null;
        Estimate? mwh = kw?.Map(k => k * CostCalculator.HoursPerMonth / 1000);
        int n = (int)gpus.Value;
        var offers = r.Prices.ForDevice(card.Id, r.Policy)
            .Select(o =>
            {
                int instances = CostCalculator.InstancesFor(o, n);
                double perHour = Math.Round(instances * o.UsdPerInstanceHour, 2);
                return new OfferPlan(o.Id, o.Pricing, o.Price.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                    instances, perHour, Math.Round(perHour * CostCalculator.HoursPerMonth, 0), o.Vcpus * instances);
            })
            .OrderBy(o => o.UsdPerMonth)
            .ToList();
        return new CardPlan
        {
            Card = card.Id,
            Name = card.Name,
            MeetsSlo = true,
            Precision = TargetPrecision(p),
            PrecisionRule = p.Precision.Rule,
            Basis = p.Basis,
            Answer = p.Answer,
            TensorParallel = p.Target.TensorParallel,
            ExpertParallel = p.Target.ExpertParallel,
            PipelineParallel = p.Target.PipelineParallel,
            GpusPerReplica = p.Target.Gpus,
            Collectives = p.Collectives,
            Batch = p.Target.Batch,
            SloValuesMs = r.Slos.ToDictionary(s => $"{s.Metric}_{Key(s)}", s => Latency(p, s).Round(3)),
            OutputTokensPerSPerGpu = p.Metrics.OutputTokensPerSPerGpu.Round(1),
            Gpus = gpus,
            CpuCores = r.CpuCoresPerGpu is { } cores ? Math.Ceiling(cores * gpus.Value) : null,
            PowerKw = kw?.Round(2),
            EnergyMwhPerMonth = mwh?.Round(2),
            Offers = offers,
        };
    }

    /// <summary>The plan's answer in words, with the engine's residual per step as the chosen projections give it.</summary>
    private static string AnswerRule(string answer, ProjectionAnswer? shown)
    {
        if (answer == ProjectionAnswers.Decoder)
        {
            return "this harness's decoder on each card: the run's host overhead per step is carried onto each card";
        }

        string residual = shown is { ResidualMsPerStep: { } ms }
            ? Invariant($"{ms:0.###} ms per step ({shown.ResidualSource}: {shown.ResidualBasis})")
            : "per step as the run gives it";
        return "a production engine on each card: device time only, the host overhead hidden (CUDA graphs, overlapped scheduling), "
            + $"plus a residual of {residual}";
    }

    private static string TargetPrecision(ProjectionResult p) =>
        p.Precision.Target == p.Precision.TargetKvCache ? p.Precision.Target : $"{p.Precision.Target} (KV cache {p.Precision.TargetKvCache})";

    internal static string Key(ServiceLevelObjective s) => KeyOrNull(s)!;

    private static string? KeyOrNull(ServiceLevelObjective s) =>
        PercentileKeys.FirstOrDefault(k => Math.Abs(k.Key - s.Percentile) < 1e-9).Value;

    internal static Estimate Latency(ProjectionResult p, ServiceLevelObjective s)
    {
        ProjectedLatency lat = Key(s) == "p50" ? new ProjectedLatency(p.Metrics.TtftMs, p.Metrics.TpotMs) : p.Percentiles[Key(s)];
        return s.Metric == "ttft" ? lat.TtftMs : lat.TpotMs;
    }

    private static IEnumerable<int> Batches(PlanRequest r)
    {
        var set = new SortedSet<int> { r.Workload.Batch };
        for (int b = 1; b <= r.MaxBatch; b *= 2)
        {
            set.Add(b);
        }

        return set;
    }
}
