using System.Globalization;
using System.Text;
using Harness.Projection;

namespace Harness.Planning;

/// <summary>The Markdown view of a capacity plan: one row per card, then every offer.</summary>
public static class PlanReport
{
    public static string Markdown(CapacityPlan plan)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"### Capacity plan: {plan.TargetOutputTokensPerS:#,0} output tok/s, SLO {string.Join(", ", plan.Slo)}\n\n");
        sb.Append(c, $"Workload {plan.Workload}, measured on {plan.SourceCard} in {plan.SourcePrecision}. Values are projections: value (low-high).\n\n");
        string sloHeads = string.Join(" | ", plan.Slo.Select(s => s.Split('<')[0] + " ms"));
        sb.Append(c, $"| card | precision | TP x batch | {sloHeads} | tok/s per GPU | GPUs | CPU cores | kW | MWh/month | cheapest offer | $/h | $/month |\n");
        sb.Append("|---|---|---:|").Append(string.Concat(plan.Slo.Select(_ => "---:|"))).Append("---:|---:|---:|---:|---:|---|---:|---:|\n");
        foreach (CardPlan card in plan.Cards)
        {
            if (!card.MeetsSlo)
            {
                sb.Append(c, $"| {card.Card} | {card.Precision} | {card.Why} |").Append(string.Concat(plan.Slo.Select(_ => " |"))).Append(" | | | | | | | |\n");
                continue;
            }

            string slos = string.Join(" | ", card.SloValuesMs.Values.Select(e => e.Format("0.#")));
            OfferPlan? cheapest = card.Offers.FirstOrDefault();
            sb.Append(c, $"| {card.Card} | {card.Precision} | {card.TensorParallel} x {card.Batch} | {slos} | {card.OutputTokensPerSPerGpu.Format("#,0")} | {card.Gpus.Format("#,0")} | ");
            sb.Append(c, $"{(card.CpuCores is { } cores ? cores.ToString("#,0", c) : "n/a")} | {card.PowerKw?.Format("#,0.#") ?? "n/a"} | {card.EnergyMwhPerMonth?.Format("#,0.#") ?? "n/a"} | ");
            sb.Append(cheapest is null ? "no current price | | |\n" : string.Create(c, $"{cheapest.Offer} ({cheapest.Pricing}) | {cheapest.UsdPerHour:#,0.##} | {cheapest.UsdPerMonth:#,0} |\n"));
        }

        var offers = plan.Cards.Where(x => x.MeetsSlo).SelectMany(x => x.Offers.Select(o => (x.Card, o))).ToList();
        if (offers.Count > 0)
        {
            sb.Append("\n| card | offer | pricing | price date | instances | $/h | $/month | host vCPUs |\n|---|---|---|---|---:|---:|---:|---:|\n");
            foreach ((string card, OfferPlan o) in offers)
            {
                sb.Append(c, $"| {card} | {o.Offer} | {o.Pricing} | {o.PriceDate} | {o.Instances} | {o.UsdPerHour:#,0.##} | {o.UsdPerMonth:#,0} | {(o.HostVcpus is { } v ? v.ToString("#,0", c) : "")} |\n");
            }
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
