using System.Globalization;
using Harness.Planning;
using Harness.Projection;

namespace Harness.Reports;

/// <summary>
/// <c>harness plan --html</c> (and <c>--svg</c>): the cards of a <see cref="CapacityPlan"/> side by
/// side, drawn from the plan the planner computed: GPUs needed, tokens per second per GPU and power
/// with the projection's error bars, and the cheapest current offer's dollars per month.
/// </summary>
public static class PlanView
{
    public static string Render(CapacityPlan plan, string? statement = null)
    {
        var c = CultureInfo.InvariantCulture;
        var page = new HtmlPage($"plan {plan.Workload}: {plan.TargetOutputTokensPerS.ToString("#,0", c)} output tok/s");
        if (statement is not null)
        {
            page.Paragraph(statement);
        }

        page.Paragraph($"Workload {plan.Workload}, measured on {plan.SourceCard} in {plan.SourcePrecision}; target {plan.TargetOutputTokensPerS.ToString("#,0", c)} output tokens/s under {string.Join(", ", plan.Slo)}. Values are projections with their error bars (the range over every corner of the projection's uncertain inputs).");
        page.Paragraph($"Answer ({plan.Answer}): {plan.AnswerRule}.");
        var notMet = plan.Cards.Where(x => !x.MeetsSlo).Select(x => $"{x.Card}: {x.Why}").ToList();
        page.Warnings(notMet, "Cards that cannot meet the SLO");
        page.View("plan-gpus", "GPUs needed per card", Gpus(plan), "No card meets the SLO, so no fleet is sized.",
            "Bar and dot: the projection's central value; error bar: its low to high range (whole tensor-parallel groups).");
        page.View("plan-cost", "Dollars per month, cheapest current offer", Cost(plan), "No card that meets the SLO has a current price in the catalog (catalog/prices.json, or --prices FILE).",
            "Whole instances of the cheapest offer for the central GPU count; the price has no error bar of its own, the GPU count's range is above.");
        page.View("plan-throughput", "Output tokens per second per GPU", Estimates(plan, "plan-throughput", "Output tokens/s per GPU", "output tokens per second per GPU (tokens/s)", c => c.OutputTokensPerSPerGpu),
            "No card meets the SLO.");
        page.View("plan-power", "Power of the fleet", Estimates(plan, "plan-power", "Fleet power", "power (kW)", c => c.PowerKw),
            "No card has a power figure (the hardware catalog gives each card's TDP).");
        page.View("plan-frontier", "Frontier: output tokens/s per GPU against tokens/s per user", Frontier(plan),
            "No layout fits any card.",
            "One curve per card and layout on the card's frontier (points over batch); filled markers are points of the frontier.");
        page.View("plan-disaggregated", "Disaggregated alternative (prefill and decode pools)", Disaggregated(plan),
            "No card has prefill and decode pools that meet the SLO.");
        page.View("plan-table", "Cards", HtmlPage.Table(
            ["card", "precision", "layout x batch", .. plan.Slo.Select(s => s.Split('<')[0] + " (ms)"), "tok/s per GPU", "GPUs", "CPU cores", "kW", "MWh/month", "cheapest offer", "$/h", "$/month"],
            plan.Cards.Select(card =>
            {
                OfferPlan? offer = card.Offers.FirstOrDefault();
                return (IReadOnlyList<string>)(card.MeetsSlo
                    ?
                    [
                        card.Card, card.Precision, $"{PlanReport.Layout(card)} x {card.Batch}", .. card.SloValuesMs.Values.Select(e => e.Format("0.#")),
                        card.OutputTokensPerSPerGpu.Format("#,0"), card.Gpus.Format("#,0"), card.CpuCores?.ToString("#,0", c) ?? "n/a",
                        card.PowerKw?.Format("#,0.#") ?? "n/a", card.EnergyMwhPerMonth?.Format("#,0.#") ?? "n/a",
                        offer is null ? "no current price" : $"{offer.Offer} ({offer.Pricing}, {offer.PriceDate})",
                        offer?.UsdPerHour.ToString("#,0.##", c) ?? "", offer?.UsdPerMonth.ToString("#,0", c) ?? "",
                    ]
                    : [card.Card, card.Precision, card.Why ?? "does not meet the SLO", .. plan.Slo.Select(_ => ""), "", "", "", "", "", "", "", ""]);
            })),
            "The plan has no card.");
        if (plan.Notes.Count > 0)
        {
            page.Html("<section class=\"view\" id=\"plan-notes\"><h3>Notes</h3><ul>" + string.Concat(plan.Notes.Select(n => $"<li>{SvgChart.Esc(n)}</li>")) + "</ul></section>");
        }

        return page.Render($"Plan of {plan.CreatedUtc:yyyy-MM-dd HH:mm} UTC; prices from the catalog as of each offer's date.");
    }

    /// <summary>The two charts of the cards (GPUs needed, dollars per month) in one SVG file, for plan --svg.</summary>
    public static string Svg(CapacityPlan plan)
    {
        string[] charts = [Gpus(plan) ?? Empty(plan, "plan-gpus", "GPUs needed per card"), Cost(plan) ?? Empty(plan, "plan-cost", "Dollars per month")];
        var c = CultureInfo.InvariantCulture;
        int width = 760, y = 0;
        var body = new System.Text.StringBuilder();
        foreach (string chart in charts)
        {
            int height = int.Parse(System.Text.RegularExpressions.Regex.Match(chart, "height=\"(\\d+)\"").Groups[1].Value, c);
            body.Append(c, $"<g transform=\"translate(0 {y})\">").Append(chart).Append("</g>");
            y += height + 10;
        }

        return $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{y}\" viewBox=\"0 0 {width} {y}\" font-family=\"sans-serif\">{body}</svg>\n";
    }

    /// <summary>Per card, the curves (over batch) of the layouts with a point on its frontier, tokens/s per user on x.</summary>
    private static string? Frontier(CapacityPlan plan)
    {
        var cards = plan.Cards.Where(x => x.Frontier.Count > 0).ToList();
        if (cards.Count == 0)
        {
            return null;
        }

        var chart = new SvgChart(
            "plan-frontier", "Output tokens/s per GPU against tokens/s per user", "tokens/s per user (1000 / TPOT p50)",
            "output tokens/s per GPU")
        {
            LogX = true,
            LogY = true,
        };
        int color = 0;
        foreach (CardPlan card in cards)
        {
            var layouts = card.Frontier.Select(x => x.Layout).ToHashSet();
            foreach (FrontierCurve curve in card.Curves.Where(x => layouts.Contains(x.Layout)))
            {
                chart.Add($"{card.Card} {curve.Layout}", curve.Points.Select(x => (x.TokensPerSPerUser, x.TokensPerSPerGpu)),
                    markers: true, colorIndex: color);
            }

            color++;
        }

        return chart.Render();
    }

    private static string? Disaggregated(CapacityPlan plan)
    {
        var rows = plan.Cards.Where(x => x.Disaggregated is not null).ToList();
        if (rows.Count == 0)
        {
            return null;
        }

        var c = CultureInfo.InvariantCulture;
        return HtmlPage.Table(
            ["card", "xPyD", "prefill pool", "decode pool", "KV per request (MB)", "KV transfer (ms)", "GPUs", "tok/s per GPU",
                "aggregated GPUs", "verdict"],
            rows.Select(card =>
            {
                DisaggregatedPlan d = card.Disaggregated!;
                return (IReadOnlyList<string>)
                [
                    card.Card, d.Ratio,
                    $"{d.Prefill.Replicas} x {d.Prefill.Layout} x batch {d.Prefill.Batch} = {d.Prefill.Gpus} GPUs",
                    $"{d.Decode.Replicas} x {d.Decode.Layout} x batch {d.Decode.Batch} = {d.Decode.Gpus} GPUs",
                    d.KvMbPerRequest.ToString("#,0.##", c), $"{d.KvTransferMs.ToString("0.###", c)} ({d.KvLink})",
                    d.Gpus.ToString("#,0", c), d.TokensPerSPerGpu.ToString("#,0", c),
                    d.AggregatedGpus?.ToString("#,0", c) ?? "SLO not met", d.Verdict,
                ];
            }));
    }

    private static string Empty(CapacityPlan plan, string id, string title) =>
        new SvgChart(id, $"{title}: no card meets the SLO", "value (count)", "card") { Rows = plan.Cards.Select(x => x.Card).ToList() }.Render();

    private static List<CardPlan> Met(CapacityPlan plan) => plan.Cards.Where(x => x.MeetsSlo).ToList();

    private static string? Gpus(CapacityPlan plan)
    {
        var cards = Met(plan);
        if (cards.Count == 0)
        {
            return null;
        }

        var chart = new SvgChart("plan-gpus", $"GPUs for {plan.TargetOutputTokensPerS.ToString("#,0", CultureInfo.InvariantCulture)} output tok/s, {string.Join(", ", plan.Slo)}", "GPUs needed (count)", "card")
        {
            Rows = cards.Select(x => x.Card).ToList(),
            XMin = 0,
        };
        chart.AddBars("GPUs (central value)", cards.Select((x, i) => (i, 0.0, x.Gpus.Value)), colorIndex: 0);
        chart.AddIntervals("projection range", cards.Select((x, i) => (x.Gpus.Value, (double)i, x.Gpus.Low, x.Gpus.High)), colorIndex: 6);
        return chart.Render();
    }

    private static string? Cost(CapacityPlan plan)
    {
        var cards = Met(plan).Where(x => x.Offers.Count > 0).ToList();
        if (cards.Count == 0)
        {
            return null;
        }

        var chart = new SvgChart("plan-cost", "Dollars per month, cheapest current offer", "cost per month (USD)", "card")
        {
            Rows = cards.Select(x => x.Card).ToList(),
            XMin = 0,
        };
        chart.AddBars("$ per month (whole instances of the cheapest offer)", cards.Select((x, i) => (i, 0.0, x.Offers[0].UsdPerMonth)), colorIndex: 4);
        return chart.Render();
    }

    private static string? Estimates(CapacityPlan plan, string id, string title, string axis, Func<CardPlan, Estimate?> pick)
    {
        var cards = Met(plan).Where(x => pick(x) is not null).ToList();
        if (cards.Count == 0)
        {
            return null;
        }

        var chart = new SvgChart(id, title, axis, "card") { Rows = cards.Select(x => x.Card).ToList(), XMin = 0 };
        chart.AddBars("central value", cards.Select((x, i) => (i, 0.0, pick(x)!.Value.Value)), colorIndex: 2);
        chart.AddIntervals("projection range", cards.Select((x, i) => (pick(x)!.Value.Value, (double)i, pick(x)!.Value.Low, pick(x)!.Value.High)), colorIndex: 6);
        return chart.Render();
    }
}
