using System.Globalization;
using Harness.Metrics;
using Harness.Results;
using Harness.Telemetry;
using Harness.Trust;
using Harness.Trust.Comparability;

namespace Harness.Reports;

/// <summary>
/// The report people read (<c>harness report</c>): one self-contained HTML page over results and
/// agents sweeps. At the top, what to read with care (runs not like for like, disturbed runs) and
/// the runs, grouped and filtered in the page by workload, backend or machine; then latency and
/// throughput, LLM (TTFT, TPOT, ITL, MFU, MBU), energy and cost, agents (the cores-per-GPU curve),
/// serving, and timelines. A view whose data is absent is a sentence saying what would produce it.
/// </summary>
public static class HtmlReport
{
    /// <summary>The <c>data-chart</c> names of the report's charts in page order, for tests and scripts that look for them.</summary>
    public static readonly IReadOnlyList<string> ChartIds =
    [
        "latency-cdf", "throughput-scaling", "goodput", "slo-percentile", "latency-throughput",
        "ttft-cdf", "tpot-cdf", "itl-cdf", "mfu", "mbu", "roofline",
        "energy-per-unit", "cost-per-million",
        "agents-busy", "agents-jobs", "agents-turn-time", "agents-tool-latency",
        "server-kv-cache", "server-requests",
        "telemetry-power", "telemetry-clock", "telemetry-gpu-utilization", "telemetry-cpu-utilization", "telemetry-disturbance",
    ];

    public static string Render(IReadOnlyList<LoadedResult> results, string? title = null) =>
        Render(new ReportInput(results, []) { Title = title });

    public static string Render(ReportInput input)
    {
        IReadOnlyList<LoadedResult> results = input.Results;
        if (results.Count == 0 && input.Sweeps.Count == 0)
        {
            throw HarnessException.BadInput("A report needs at least one result file.");
        }

        string title = input.Title ?? (results.Count == 1
            ? $"{results[0].Document.Workload} on {results[0].Document.Backend}, {results[0].Document.Scenario}"
            : results.Count > 1
                ? $"{results.Count} results: {string.Join(", ", results.Select(r => r.Document.Workload).Distinct())}"
                : $"agents sweep: {string.Join(", ", input.Sweeps.Select(s => s.Document.Profile).Distinct())}");
        var runs = new RunSet(results);
        var page = new HtmlPage(title);
        page.Paragraph(string.Create(CultureInfo.InvariantCulture,
            $"{results.Count} result file(s), {input.Sweeps.Count} agents sweep(s); generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. Percentiles are nearest-rank; latency counts from each request's scheduled send."));
        page.Warnings(Trust(runs));
        if (results.Count > 0)
        {
            Runs(page, runs);
            page.Part("latency", "Latency and throughput");
            LatencyViews.Add(page, runs);
            LlmViews.Add(page, runs);
            LlmViews.AddEfficiency(page, runs);
            EnergyCostViews.Add(page, runs, input.Offer);
        }

        AgentViews.Add(page, runs, input.Sweeps);
        if (results.Count > 0)
        {
            TimelineViews.AddServing(page, runs);
            TimelineViews.AddTimelines(page, runs);
        }

        return page.Render($"Files: {string.Join(", ", results.Select(r => r.Path).Concat(input.Sweeps.Select(s => s.Path)))}");
    }

    /// <summary>
    /// What a reader must know before reading the charts, from the trust rules: the results differ in
    /// what moves speed (they are not like for like), or a run was disturbed.
    /// </summary>
    private static List<string> Trust(RunSet runs)
    {
        var lines = new List<string>();
        IReadOnlyList<LoadedResult> results = runs.All;
        if (results.Count > 1 && results.Select(r => r.Document.Workload).Distinct().Count() == 1)
        {
            ComparabilityVerdict verdict = ComparabilityRule.Check([results[0].Document], results.Skip(1).Select(r => r.Document).ToList(),
                [runs.Label(results[0])], results.Skip(1).Select(runs.Label).ToList());
            if (verdict.SpeedMoving.Count > 0)
            {
                lines.Add($"NOT LIKE FOR LIKE: these results differ in what moves speed, so their differences may come from the machine or the settings: {string.Join("; ", verdict.SpeedMoving.Select(d => $"{d} ({d.Where})"))}.");
            }
        }

        foreach (LoadedResult r in results)
        {
            RunDisturbance d = RunDisturbance.Of(r.Document, DisturbanceLimits.Default);
            if (d.Disturbed)
            {
                lines.Add($"{runs.Label(r)} was {(d.AllowedNoisy ? "NOISY (allowed)" : "DISTURBED")}: {string.Join("; ", d.Causes)}{(d.How == "measured" ? "" : $" [{d.How}]")}.");
            }
        }

        return lines;
    }

    private static void Runs(HtmlPage page, RunSet runs)
    {
        var c = CultureInfo.InvariantCulture;
        page.RunTable(
            ["run", "workload", "backend", "machine", "scenario", "verdict", "requests ok", "failed", "throughput", "req/s", "p50 ms", "p99 ms", "goodput req/s"],
            runs.All.Select(r =>
            {
                ResultDocument d = r.Document;
                ResultMetrics m = d.Metrics;
                string verdict = d.Valid ? "<span class=\"valid\">VALID</span>" : $"<span class=\"invalid\" title=\"{E(string.Join("; ", d.Validity.Where(v => !v.Passed).Select(v => $"{v.Name}: {v.Detail}")))}\">INVALID</span>";
                if (RunDisturbance.Of(d, DisturbanceLimits.Default) is { Disturbed: true } disturbance)
                {
                    verdict += $" <span class=\"invalid\" title=\"{E(string.Join("; ", disturbance.Causes))}\">{(disturbance.AllowedNoisy ? "NOISY" : "DISTURBED")}</span>";
                }

                IReadOnlyList<string> cells =
                [
                    E(runs.Label(r)), E(d.Workload), E(d.Backend), E(runs.Key(r).Machine), E(d.Scenario), verdict,
                    m.RequestsOk.ToString(c), m.RequestsFailed.ToString(c), E(string.Create(c, $"{m.ThroughputPerS:0.##} {m.ThroughputUnit}/s")), m.RequestsPerS.ToString("0.##", c),
                    Num(m.LatencyMs?.P50), Num(m.LatencyMs?.P99), Num(m.Value(MetricCatalog.GoodputPerS)),
                ];
                return (runs.Key(r), cells);
            }),
            filterable: runs.All.Count > 1);
    }

    private static string Num(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "-";

    private static string E(string s) => SvgChart.Esc(s);
}
