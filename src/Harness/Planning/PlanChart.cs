using System.Globalization;
using System.Security;
using System.Text;

namespace Harness.Planning;

/// <summary>
/// An SVG chart of a plan: GPUs needed per card (bars with the projection's error bar) beside the
/// cheapest monthly price per card. Plain SVG, no script or font dependency.
/// </summary>
public static class PlanChart
{
    private const int Label = 110, Panel = 360, Gap = 40, Row = 44, Top = 70, BarHeight = 22;

    public static string Svg(CapacityPlan plan)
    {
        var c = CultureInfo.InvariantCulture;
        int width = Label + 2 * Panel + Gap + 20;
        int height = Top + Row * plan.Cards.Count + 30;
        var sb = new StringBuilder();
        sb.Append(c, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append(c, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        sb.Append(c, $"<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{Escape($"{plan.Workload}: {plan.TargetOutputTokensPerS:#,0} output tok/s, {string.Join(", ", plan.Slo)}")}</text>\n");
        int x1 = Label, x2 = Label + Panel + Gap;
        sb.Append(c, $"<text x=\"{x1}\" y=\"50\" font-weight=\"bold\">GPUs needed (error bar: projection range)</text>\n");
        sb.Append(c, $"<text x=\"{x2}\" y=\"50\" font-weight=\"bold\">$ per month, cheapest current offer</text>\n");
        double maxGpus = Math.Max(1, plan.Cards.Where(p => p.MeetsSlo).Select(p => p.Gpus.High).DefaultIfEmpty(1).Max());
        double maxUsd = Math.Max(1, plan.Cards.Where(p => p.Offers.Count > 0).Select(p => p.Offers[0].UsdPerMonth).DefaultIfEmpty(1).Max());
        for (int i = 0; i < plan.Cards.Count; i++)
        {
            CardPlan card = plan.Cards[i];
            int y = Top + i * Row;
            sb.Append(c, $"<text x=\"10\" y=\"{y + 16}\">{Escape(card.Card)}</text>\n");
            if (!card.MeetsSlo)
            {
                sb.Append(c, $"<text x=\"{x1}\" y=\"{y + 16}\" fill=\"#a00\">no TP and batch meet the SLO</text>\n");
                continue;
            }

            double w = card.Gpus.Value / maxGpus * (Panel - 60);
            double lo = x1 + card.Gpus.Low / maxGpus * (Panel - 60), hi = x1 + card.Gpus.High / maxGpus * (Panel - 60);
            sb.Append(c, $"<rect x=\"{x1}\" y=\"{y}\" width=\"{w:0.#}\" height=\"{BarHeight}\" fill=\"#4c78a8\"/>\n");
            sb.Append(c, $"<line x1=\"{lo:0.#}\" y1=\"{y + BarHeight / 2}\" x2=\"{hi:0.#}\" y2=\"{y + BarHeight / 2}\" stroke=\"black\"/>\n");
            sb.Append(c, $"<line x1=\"{lo:0.#}\" y1=\"{y + 5}\" x2=\"{lo:0.#}\" y2=\"{y + BarHeight - 5}\" stroke=\"black\"/><line x1=\"{hi:0.#}\" y1=\"{y + 5}\" x2=\"{hi:0.#}\" y2=\"{y + BarHeight - 5}\" stroke=\"black\"/>\n");
            sb.Append(c, $"<text x=\"{Math.Max(hi, x1 + w) + 6:0.#}\" y=\"{y + 16}\">{card.Gpus.Value:#,0}</text>\n");
            if (card.Offers.FirstOrDefault() is { } offer)
            {
                double uw = offer.UsdPerMonth / maxUsd * (Panel - 90);
                sb.Append(c, $"<rect x=\"{x2}\" y=\"{y}\" width=\"{uw:0.#}\" height=\"{BarHeight}\" fill=\"#f58518\"/>\n");
                sb.Append(c, $"<text x=\"{x2 + uw + 6:0.#}\" y=\"{y + 16}\">${offer.UsdPerMonth:#,0}</text>\n");
                sb.Append(c, $"<text x=\"{x2}\" y=\"{y + BarHeight + 12}\" font-size=\"10\" fill=\"#555\">{Escape($"{offer.Offer}, {offer.Pricing}, {offer.PriceDate}")}</text>\n");
            }
            else
            {
                sb.Append(c, $"<text x=\"{x2}\" y=\"{y + 16}\" fill=\"#555\">no current price in the catalog</text>\n");
            }
        }

        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static string Escape(string s) => SecurityElement.Escape(s) ?? "";
}
