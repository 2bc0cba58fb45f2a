using System.Globalization;
using Harness.Cost;
using Harness.Metrics;
using Harness.Results;

namespace Harness.Reports;

/// <summary>
/// Energy and cost per run: joules per output unit (J/token for LLMs) and dollars per million output
/// units, as charts, and every run's window totals (energy, average and peak power) as figures, so a
/// run that has only its totals still shows them.
/// </summary>
internal static class EnergyCostViews
{
    /// <summary>A run's cost per million output units: its own (priced at run time) or priced here with the report's offer, by the one cost code.</summary>
    private sealed record RunCost(double UsdPerHour, double UsdPerMillion, string Unit, string PricedWith);

    public static void Add(HtmlPage page, RunSet runs, PriceOffer? offer)
    {
        var costs = runs.All.ToDictionary(r => r, r => CostOf(r, offer));
        page.Part("energy-cost", "Energy and cost");
        page.View("energy-per-unit", "Energy per output unit", EnergyChart(runs),
            "No result measured energy (metrics.energy_j): it needs NVML on a GPU or RAPL package counters on a CPU.",
            "Energy of the backend's device over the measured window (telemetry.energy says how) divided by the output units of the ok requests.");
        page.View("cost-per-million", "Cost per million output units", CostChart(runs, costs),
            offer is null
                ? "No result carries a price: run with --instance or --price, or give report --instance NAME (harness cost RESULT --all lists the offers)."
                : "No result has a throughput to put a cost on.",
            "usd_per_hour / (output units per second x 3600) x 1e6, from each run's own price or, where it has none, the offer given to report.");
        page.View("energy-cost-figures", "Energy and cost figures", Figures(runs, costs),
            "No result has energy or cost figures.");
    }

    private static RunCost? CostOf(LoadedResult r, PriceOffer? offer)
    {
        ResultDocument d = r.Document;
        string unit = d.Metrics.Value(MetricCatalog.OutputTokensPerS) is > 0 ? "tokens" : d.Metrics.ThroughputUnit;
        if (d.Metrics.Value(MetricCatalog.UsdPerHour) is { } perHour && d.Metrics.Value(MetricCatalog.CostPerMillion(unit)) is { } perMillion)
        {
            string with = DocumentValues.AsElement(d.Config.GetValueOrDefault(ResultCost.ConfigKey)) is { ValueKind: System.Text.Json.JsonValueKind.Object } price
                && price.TryGetProperty("instance", out var instance) ? $"{instance} (at run time)" : "at run time";
            return new RunCost(perHour, perMillion, unit, with);
        }

        if (offer is null || ResultCost.Throughput(d) is null)
        {
            return null;
        }

        CostLine line = ResultCost.Compute(d, offer, r.Path);
        return new RunCost(line.Charge.UsdPerHour, line.UsdPerMillion, line.Unit, $"{offer.Id} ({line.Charge.Basis}, {offer.Price.Date:yyyy-MM-dd}), by report");
    }

    private static string? EnergyChart(RunSet runs) => PerRun(
        runs.Where(r => r.Document.Metrics.JoulesPerUnit is not null), "energy-per-unit", "Energy per output unit", "energy per output unit (J)",
        r => $"J/{Singular(r.Document.Metrics.ThroughputUnit)}", r => r.Document.Metrics.JoulesPerUnit!.Value, colorIndex: 2);

    private static string? CostChart(RunSet runs, Dictionary<LoadedResult, RunCost?> costs) => PerRun(
        runs.Where(r => costs[r] is not null), "cost-per-million", "Cost per million output units", "cost per million output units (USD)",
        r => PerMillion(costs[r]!.Unit), r => costs[r]!.UsdPerMillion, colorIndex: 4);

    /// <summary>One bar per run, each row naming the run and the unit of its figure; null when no run has one.</summary>
    private static string? PerRun(RunSet runs, string id, string title, string axis, Func<LoadedResult, string> unit, Func<LoadedResult, double> value, int colorIndex)
    {
        if (runs.All.Count == 0)
        {
            return null;
        }

        var chart = new SvgChart(id, title, axis, "run")
        {
            Rows = runs.All.Select(r => $"{runs.Label(r)} ({unit(r)})").ToList(),
            RowRuns = runs.All.Select(runs.Id).ToList(),
            XMin = 0,
        };
        chart.AddBars(title, runs.All.Select((r, i) => (i, 0.0, value(r))), colorIndex: colorIndex);
        return chart.Render();
    }

    private static string? Figures(RunSet runs, Dictionary<LoadedResult, RunCost?> costs)
    {
        var rows = runs.All.Where(r => r.Document.Metrics.EnergyJ is not null || costs[r] is not null).ToList();
        if (rows.Count == 0)
        {
            return null;
        }

        var c = CultureInfo.InvariantCulture;
        return HtmlPage.Table(
            ["run", "energy (J)", "window (s)", "average power (W)", "peak power (W)", "energy per output unit (J)", "output units per J", "measured by", "$/h", "$ per million output units", "priced with"],
            rows.Select(r =>
            {
                ResultMetrics m = r.Document.Metrics;
                var energy = r.Document.Telemetry?.Energy;
                RunCost? cost = costs[r];
                string unit = Singular(m.ThroughputUnit);
                return (IReadOnlyList<string>)
                [
                    runs.Label(r),
                    m.EnergyJ is { } j ? j.ToString("#,0.#", c) : "-",
                    m.DurationS.ToString("0.###", c),
                    m.AvgPowerW is { } w ? w.ToString("0.#", c) : "-",
                    energy?.PeakPowerW is { } peak ? peak.ToString("0.#", c) : "-",
                    m.JoulesPerUnit is { } jpu ? $"{jpu.ToString("0.####", c)} J/{unit}" : "-",
                    energy?.UnitsPerJoule is { } upj ? $"{upj.ToString("0.###", c)} {m.ThroughputUnit}/J" : "-",
                    energy is null ? "-" : $"{energy.Method} ({string.Join(", ", energy.Parts)})",
                    cost is null ? "-" : cost.UsdPerHour.ToString("0.####", c),
                    cost is null ? "-" : $"{cost.UsdPerMillion.ToString("0.####", c)} {PerMillion(cost.Unit)}",
                    cost?.PricedWith ?? "no price",
                ];
            }));
    }

    /// <summary>"$/Mtok" for tokens (the catalog's label), "$/Msamples" for others.</summary>
    private static string PerMillion(string unit) => unit == "tokens" ? MetricCatalog.UsdPerMtok.Label : $"$/M{unit}";

    private static string Singular(string unit) => unit.EndsWith('s') ? unit[..^1] : unit;
}
