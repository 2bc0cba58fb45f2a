using System.Globalization;
using System.Text;
using Harness.Formatting;
using static System.FormattableString;
using static Harness.Formatting.MarkdownColumn;

namespace Harness.Planning;

/// <summary>The Markdown view of a capacity plan: one row per card, then every offer.</summary>
public static class PlanReport
{
    /// <summary>The last three cells of a card without a current price.</summary>
    private static readonly string[] NoPrice = ["no current price", "", ""];

    /// <summary>TP, EP and PP of a card's chosen layout, e.g. "TP2 EP8 PP1" (TP alone when EP and PP are 1).</summary>
    public static string Layout(CardPlan card) =>
        new Projection.Parallelism(card.TensorParallel, card.ExpertParallel, card.PipelineParallel).Label;

    public static string Markdown(CapacityPlan plan)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"### Capacity plan: {plan.TargetOutputTokensPerS:#,0} output tok/s, SLO {string.Join(", ", plan.Slo)}\n\n");
        sb.Append(c, $"Workload {plan.Workload}, measured on {plan.SourceCard} in {plan.SourcePrecision}. Values are projections: value (low-high).\n\n");
        sb.Append(c, $"Answer ({plan.Answer}): {plan.AnswerRule}.\n\n");
        var cards = new MarkdownTable(new[] { Left("card"), Left("precision"), Right("layout x batch") }
            .Concat(plan.Slo.Select(s => Right(s.Split('<')[0] + " ms")))
            .Concat(new[] { Right("tok/s per GPU"), Right("GPUs"), Right("CPU cores"), Right("kW"), Right("MWh/month"),
                Left("cheapest offer"), Right("$/h"), Right("$/month") }));
        foreach (CardPlan card in plan.Cards)
        {
            if (!card.MeetsSlo)
            {
                cards.Row(new[] { card.Card, card.Precision, card.Why }.Concat(plan.Slo.Select(_ => "")).Concat(Enumerable.Repeat("", 8)));
                continue;
            }

            OfferPlan? cheapest = card.Offers.FirstOrDefault();
            cards.Row(new[] { card.Card, card.Precision, Invariant($"{Layout(card)} x {card.Batch}") }
                .Concat(card.SloValuesMs.Values.Select(e => e.Format("0.#")))
                .Concat(new[] { card.OutputTokensPerSPerGpu.Format("#,0"), card.Gpus.Format("#,0"),
                    card.CpuCores is { } cores ? cores.ToString("#,0", c) : "n/a", card.PowerKw?.Format("#,0.#") ?? "n/a",
                    card.EnergyMwhPerMonth?.Format("#,0.#") ?? "n/a" })
                .Concat(cheapest is null
                    ? NoPrice
                    : [Invariant($"{cheapest.Offer} ({cheapest.Pricing})"), Invariant($"{cheapest.UsdPerHour:#,0.##}"),
                        Invariant($"{cheapest.UsdPerMonth:#,0}")]));
        }

        cards.AppendTo(sb);

        Layouts(sb, plan);
        Disaggregated(sb, plan);
        Frontiers(sb, plan);

        var offers = plan.Cards.Where(x => x.MeetsSlo).SelectMany(x => x.Offers.Select(o => (x.Card, o))).ToList();
        if (offers.Count > 0)
        {
            var all = new MarkdownTable(Left("card"), Left("offer"), Left("pricing"), Left("price date"), Right("instances"), Right("$/h"),
                Right("$/month"), Right("host vCPUs"));
            foreach ((string card, OfferPlan o) in offers)
            {
                string vcpus = o.HostVcpus is { } v ? v.ToString("#,0", c) : "";
                all.Row(card, o.Offer, o.Pricing, Invariant($"{o.PriceDate}"), Invariant($"{o.Instances}"),
                    Invariant($"{o.UsdPerHour:#,0.##}"), Invariant($"{o.UsdPerMonth:#,0}"), vcpus);
            }

            all.AppendTo(sb.Append('\n'));
        }

        var planned = plan.Cards.Where(x => x.MeetsSlo).ToList();
        if (planned.Count > 0)
        {
            sb.Append("\nWhere each card's figures come from:\n\n");
            foreach (CardPlan card in planned)
            {
                string Parts(string source) => string.Join(", ", card.Basis.Where(b => b.Source == source).Select(b => b.Part));
                var groups = new[] { ("measured", "measured"), ("published", "published"), ("catalog", "from the catalog"), ("assumed", "assumed") }
                    .Select(g => (g.Item2, Parts(g.Item1))).Where(g => g.Item2.Length > 0).Select(g => $"{g.Item1}: {g.Item2}");
                sb.Append(c, $"- {card.Card} in {card.Precision}: {card.PrecisionRule}. {string.Join("; ", groups)}.\n");
            }
        }

        sb.Append('\n');
        foreach (string note in plan.Notes)
        {
            sb.Append(c, $"- {note}\n");
        }

        return sb.ToString();
    }

    /// <summary>Each chosen layout: TP, EP, PP, the GPUs of a replica, its domain and the collectives of a decode step.</summary>
    private static void Layouts(StringBuilder sb, CapacityPlan plan)
    {
        var chosen = plan.Cards.Where(x => x.MeetsSlo && x.Collectives is not null).ToList();
        if (chosen.Count == 0)
        {
            return;
        }

        sb.Append("\nChosen layout per card (TP: tensor, EP: expert, PP: pipeline parallel; one replica):\n\n");
        foreach (CardPlan card in chosen)
        {
            Projection.ProjectedCollectives c = card.Collectives!;
            string where = card.PipelineParallel > 1 && card.GpusPerReplica > c.DomainGpus
                ? Invariant($"{card.PipelineParallel} stages across {c.Domain} domains of {c.DomainGpus} GPUs, ")
                    + $"stages linked over {c.PipelineLink}"
                : Invariant($"inside one {c.Domain} domain of {c.DomainGpus} GPUs");
            sb.Append(CultureInfo.InvariantCulture,
                $"- {card.Card}: TP {card.TensorParallel}, EP {card.ExpertParallel}, PP {card.PipelineParallel}, ");
            sb.Append(CultureInfo.InvariantCulture, $"{card.GpusPerReplica} GPU(s) per replica, {where}; ");
            sb.Append(CultureInfo.InvariantCulture,
                $"a decode step spends {c.AllReduceMs:0.###} ms in all-reduce, {c.AllToAllMs:0.###} ms in all-to-all, ");
            sb.Append(CultureInfo.InvariantCulture, $"{c.PipelineMs:0.###} ms between stages");
            sb.Append(c.PipelineBubble > 0 ? Invariant($"; prefill bubble {c.PipelineBubble:P0}") : "")
                .Append(c.ScaleUpLink == "none" ? ".\n" : $" ({c.ScaleUpLink}).\n");
        }
    }

    /// <summary>The disaggregated alternative per card: its pools (xPyD), the KV transfer and how it compares.</summary>
    private static void Disaggregated(StringBuilder sb, CapacityPlan plan)
    {
        var rows = plan.Cards.Where(x => x.Disaggregated is not null).ToList();
        if (rows.Count == 0)
        {
            return;
        }

        sb.Append("\nDisaggregated alternative (prefill and decode pools, the KV cache sent between them), same target and SLO:\n\n");
        var t = new MarkdownTable(new[] { Left("card"), Left("xPyD"), Left("prefill pool"), Left("decode pool"), Right("KV per request MB"),
                Right("KV transfer ms") }
            .Concat(plan.Slo.Select(s => Right(s.Split('<')[0] + " ms")))
            .Concat(new[] { Right("GPUs"), Right("tok/s per GPU"), Right("aggregated GPUs"), Left("verdict") }));
        foreach (CardPlan card in rows)
        {
            DisaggregatedPlan d = card.Disaggregated!;
            t.Row(new[]
                {
                    card.Card, d.Ratio,
                    Invariant($"{d.Prefill.Replicas} x {d.Prefill.Layout} x batch {d.Prefill.Batch} = {d.Prefill.Gpus} GPUs"),
                    Invariant($"{d.Decode.Replicas} x {d.Decode.Layout} x batch {d.Decode.Batch} = {d.Decode.Gpus} GPUs"),
                    Invariant($"{d.KvMbPerRequest:#,0.##}"), Invariant($"{d.KvTransferMs:0.###} ({d.KvLink})"),
                }
                .Concat(d.SloValuesMs.Values.Select(v => Invariant($"{v:0.#}")))
                .Concat(new[]
                {
                    Invariant($"{d.Gpus:#,0}"), Invariant($"{d.TokensPerSPerGpu:#,0}"),
                    d.AggregatedGpus is { } a ? Invariant($"{a:#,0}") : "SLO not met", d.Verdict,
                }));
        }

        t.AppendTo(sb);
        sb.Append("\nBoth plans use the static-batch model: prefill interrupting decode in an aggregated continuous-batching server ")
            .Append("(what disaggregation removes from TPOT) is not modelled, so the aggregated side is, if anything, favoured.\n");
    }

    /// <summary>Each card's frontier: the points no other beats on both tokens/s per GPU and tokens/s per user.</summary>
    private static void Frontiers(StringBuilder sb, CapacityPlan plan)
    {
        var cards = plan.Cards.Where(x => x.Frontier.Count > 0).ToList();
        if (cards.Count == 0)
        {
            return;
        }

        sb.Append("\nFrontier per card: output tokens/s per GPU against tokens/s per user (1000 / TPOT p50), over every layout and batch ")
            .Append("tried; the points no other beats on both (the JSON's curves hold every layout's points):\n\n");
        var t = new MarkdownTable(Left("card"), Left("layout"), Right("GPUs"), Right("batch per replica"), Right("tok/s per user"),
            Right("tok/s per GPU"), Left("meets SLO"));
        foreach (CardPlan card in cards)
        {
            foreach (FrontierPoint x in card.Frontier)
            {
                t.Row(card.Card, x.Layout, Invariant($"{x.Gpus}"), Invariant($"{x.Batch}"), Invariant($"{x.TokensPerSPerUser:#,0.#}"),
                    Invariant($"{x.TokensPerSPerGpu:#,0}"), x.MeetsSlo ? "yes" : "no");
            }
        }

        t.AppendTo(sb);
    }
}
