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

    public static string Markdown(CapacityPlan plan)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"### Capacity plan: {plan.TargetOutputTokensPerS:#,0} output tok/s, SLO {string.Join(", ", plan.Slo)}\n\n");
        sb.Append(c, $"Workload {plan.Workload}, measured on {plan.SourceCard} in {plan.SourcePrecision}. Values are projections: value (low-high).\n\n");
        sb.Append(c, $"Answer ({plan.Answer}): {plan.AnswerRule}.\n\n");
        var cards = new MarkdownTable(new[] { Left("card"), Left("precision"), Right("TP x batch") }
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
            cards.Row(new[] { card.Card, card.Precision, Invariant($"{card.TensorParallel} x {card.Batch}") }
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
}
