using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Harness.Metrics;
using Harness.Results;
using Harness.Trust.Comparability;
using Harness.Trust.Disturbance;

namespace Harness.Reports;

/// <summary>
/// One self-contained HTML file (inline CSS and SVG; no script, font, image or style sheet from
/// elsewhere) over one or more result files: a summary table, the latency CDF, throughput against
/// concurrency or batch, the latency-throughput frontier, power and utilization over time when
/// telemetry is present, and a roofline with each run's point when MFU and MBU are. A chart whose
/// data is absent is replaced by a sentence saying what would produce it.
/// </summary>
public static class HtmlReport
{
    /// <summary>The <c>data-chart</c> names of the charts, for tests and scripts that look for them.</summary>
    public static readonly IReadOnlyList<string> ChartIds =
        ["latency-cdf", "throughput-scaling", "latency-throughput", "telemetry-power", "telemetry-utilization", "telemetry-disturbance", "roofline"];

    /// <summary>Charts that appear only for runs against a server that published its metrics (serving.server_metrics).</summary>
    public static readonly IReadOnlyList<string> ServerChartIds = ["server-requests", "server-kv-cache"];

    public static string Render(IReadOnlyList<LoadedResult> results, string? title = null)
    {
        if (results.Count == 0)
        {
            throw HarnessException.BadInput("A report needs at least one result file.");
        }

        var c = CultureInfo.InvariantCulture;
        title ??= results.Count == 1
            ? $"{results[0].Document.Workload} on {results[0].Document.Backend}, {results[0].Document.Scenario}"
            : $"{results.Count} results: {string.Join(", ", results.Select(r => r.Document.Workload).Distinct())}";
        var labels = Labels(results);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        sb.Append(c, $"<title>Harness report: {E(title)}</title>");
        sb.Append("<style>")
            .Append("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;background:#fafafa}")
            .Append("h1{font-size:22px}h2{font-size:17px;margin-top:28px}")
            .Append("table{border-collapse:collapse;font-size:13px;background:#fff}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}")
            .Append("th:first-child,td:first-child{text-align:left}.invalid{color:#b00020;font-weight:600}.valid{color:#1b7f3a}")
            .Append("section{margin-bottom:12px}.absent{color:#666;font-style:italic}svg.chart{background:#fff;border:1px solid #ddd;max-width:100%;height:auto}")
            .Append("footer{margin-top:32px;font-size:12px;color:#666}")
            .Append(".trust{border:2px solid #D55E00;background:#fff4ec;padding:8px 14px}.trust li{margin:4px 0}")
            .Append("</style></head><body>");
        sb.Append(c, $"<h1>Harness report: {E(title)}</h1>");
        sb.Append(c, $"<p>{results.Count} result file(s); generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. Percentiles are nearest-rank; latency counts from each request's scheduled send.</p>");

        Trust(sb, results, labels);
        Summary(sb, results, labels);
        Section(sb, "latency-cdf", "Latency distribution (CDF)", LatencyCdf(results, labels),
            "No result has per-request samples (samples.latency_ms).");
        Section(sb, "throughput-scaling", "Throughput against concurrency, batch or offered rate", Scaling(results),
            "Throughput scaling needs results at two or more concurrencies, batch sizes or rates: run a sweep (--sweep-concurrency 1,2,4 or --sweep-rate 10,20,40).");
        Section(sb, "latency-throughput", "Latency-throughput frontier", Frontier(results, labels),
            "No result has both a throughput and a latency distribution.");
        var telemetry = results.Select(r => (Label: labels[r], Series: TelemetrySeries.Find(r.Raw))).ToList();
        Section(sb, "telemetry-power", "Power over time", Telemetry(telemetry, "power", "Power over time", "W"),
            "No power telemetry in these results (it appears when the run had a GPU or RAPL sampler).");
        List<(string Label, double From, double To)> disturbed = DisturbedWindows(results, labels, telemetry);
        Section(sb, "telemetry-utilization", "Utilization over time", Telemetry(telemetry, "utilization", "Utilization over time", "utilization", disturbed),
            "No utilization telemetry in these results.");
        Section(sb, "telemetry-disturbance", "Other processes over time (shaded: over the run's quiet-host limit)",
            Telemetry(telemetry, "disturbance", "Other processes' CPU over time", "cores", disturbed),
            "No disturbance telemetry in these results (runs record telemetry.cpu.series.other_processes_cores since the quiet-host rule).");
        Section(sb, "roofline", "Roofline", Roofline(results, labels),
            "No result reports MFU and MBU (metrics.mfu, metrics.mbu); decoder and GEMM workloads do.");
        if (results.Any(r => r.Document.Serving?.ServerMetrics is not null))
        {
            Section(sb, "server-requests", "The server's requests running and waiting", ServerSeries(results, labels, "server-requests", "The server's requests over time", "requests", "requests_running", "requests_waiting"),
                "The server published no running or waiting requests.");
            Section(sb, "server-kv-cache", "The server's KV-cache use", ServerSeries(results, labels, "server-kv-cache", "The server's KV-cache use over time", "fraction in use", "kv_cache_usage"),
                "The server published no KV-cache use.");
        }

        sb.Append(c, $"<footer>Files: {E(string.Join(", ", results.Select(r => r.Path)))}</footer>");
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    /// <summary>
    /// What a reader must know before reading the charts, from the trust rules: the results differ in
    /// what moves speed (they are not like for like), or a run was disturbed.
    /// </summary>
    private static void Trust(StringBuilder sb, IReadOnlyList<LoadedResult> results, Dictionary<LoadedResult, string> labels)
    {
        var lines = new List<string>();
        if (results.Select(r => r.Document.Workload).Distinct().Count() == 1)
        {
            ComparabilityVerdict verdict = ComparabilityRule.Check([results[0].Document], results.Skip(1).Select(r => r.Document).ToList(),
                [labels[results[0]]], results.Skip(1).Select(r => labels[r]).ToList());
            lines.AddRange(verdict.SpeedMoving.Count > 0
                ? [$"NOT LIKE FOR LIKE: these results differ in what moves speed, so their differences may come from the machine or the settings: {string.Join("; ", verdict.SpeedMoving.Select(d => $"{d} ({d.Where})"))}."]
                : []);
        }

        foreach (LoadedResult r in results)
        {
            RunDisturbance d = RunDisturbance.Of(r.Document, DisturbanceLimits.Default);
            if (d.Disturbed)
            {
                lines.Add($"{labels[r]} was {(d.AllowedNoisy ? "NOISY (allowed)" : "DISTURBED")}: {string.Join("; ", d.Causes)}{(d.How == "measured" ? "" : $" [{d.How}]")}.");
            }
        }

        if (lines.Count > 0)
        {
            sb.Append("<section class=\"trust\" id=\"trust\"><h2>Read with care</h2><ul>");
            foreach (string line in lines)
            {
                sb.Append("<li>").Append(E(line)).Append("</li>");
            }

            sb.Append("</ul></section>");
        }
    }

    /// <summary>Stretches of each run's window where other processes used more cores than its quiet-host limit.</summary>
    private static List<(string Label, double From, double To)> DisturbedWindows(IReadOnlyList<LoadedResult> results, Dictionary<LoadedResult, string> labels, List<(string Label, IReadOnlyList<TimeSeries> Series)> telemetry)
    {
        var windows = new List<(string, double, double)>();
        for (int i = 0; i < results.Count; i++)
        {
            double limit = results[i].Document.Telemetry?.Disturbance?.Limits?.MaxOtherCores ?? DisturbanceLimits.Default.MaxOtherCores;
            foreach (TimeSeries s in telemetry[i].Series.Where(s => s.Kind == "disturbance"))
            {
                double previous = 0;
                double? from = null;
                foreach ((double t, double v) in s.Points)
                {
                    if (v > limit)
                    {
                        from ??= previous;
                    }
                    else if (from is { } f)
                    {
                        windows.Add((labels[results[i]], f, previous));
                        from = null;
                    }

                    previous = t;
                }

                if (from is { } open)
                {
                    windows.Add((labels[results[i]], open, previous));
                }
            }
        }

        return windows;
    }

    private static void Summary(StringBuilder sb, IReadOnlyList<LoadedResult> results, Dictionary<LoadedResult, string> labels)
    {
        var c = CultureInfo.InvariantCulture;
        sb.Append("<section><h2>Runs</h2><table class=\"summary\"><thead><tr><th>run</th><th>workload</th><th>backend</th><th>scenario</th><th>verdict</th>")
            .Append("<th>requests ok</th><th>failed</th><th>throughput</th><th>req/s</th><th>p50 ms</th><th>p99 ms</th><th>goodput req/s</th></tr></thead><tbody>");
        foreach (LoadedResult r in results)
        {
            ResultDocument d = r.Document;
            ResultMetrics m = d.Metrics;
            double? goodput = m.Value(MetricCatalog.GoodputPerS);
            string verdict = d.Valid ? "<span class=\"valid\">VALID</span>" : $"<span class=\"invalid\" title=\"{E(string.Join("; ", d.Validity.Where(v => !v.Passed).Select(v => $"{v.Name}: {v.Detail}")))}\">INVALID</span>";
            if (RunDisturbance.Of(d, DisturbanceLimits.Default) is { Disturbed: true } disturbance)
            {
                verdict += $" <span class=\"invalid\" title=\"{E(string.Join("; ", disturbance.Causes))}\">{(disturbance.AllowedNoisy ? "NOISY" : "DISTURBED")}</span>";
            }

            sb.Append(c, $"<tr><td>{E(labels[r])}</td><td>{E(d.Workload)}</td><td>{E(d.Backend)}</td><td>{E(d.Scenario)}</td><td>{verdict}</td>");
            sb.Append(c, $"<td>{m.RequestsOk}</td><td>{m.RequestsFailed}</td><td>{m.ThroughputPerS:0.##} {E(m.ThroughputUnit)}/s</td><td>{m.RequestsPerS:0.##}</td>");
            sb.Append(c, $"<td>{Num(m.LatencyMs?.P50)}</td><td>{Num(m.LatencyMs?.P99)}</td><td>{Num(goodput)}</td></tr>");
        }

        sb.Append("</tbody></table></section>");
    }

    private static void Section(StringBuilder sb, string id, string heading, string? svg, string absent)
    {
        sb.Append(CultureInfo.InvariantCulture, $"<section id=\"{id}\"><h2>{E(heading)}</h2>");
        sb.Append(svg ?? $"<p class=\"absent\" data-absent=\"{id}\">{E(absent)}</p>");
        sb.Append("</section>");
    }

    private static string? LatencyCdf(IReadOnlyList<LoadedResult> results, Dictionary<LoadedResult, string> labels)
    {
        var withSamples = results.Where(r => r.Document.Samples?.LatencyMs.Length > 0).ToList();
        if (withSamples.Count == 0)
        {
            return null;
        }

        double min = withSamples.Min(r => r.Document.Samples!.LatencyMs.Min());
        double max = withSamples.Max(r => r.Document.Samples!.LatencyMs.Max());
        var chart = new SvgChart("latency-cdf", "Latency CDF", "latency (ms)", "fraction of requests at or below")
        {
            LogX = min > 0 && max / min > 20,
            YMin = 0,
            YMax = 1,
        };
        foreach (LoadedResult r in withSamples)
        {
            double[] sorted = r.Document.Samples!.LatencyMs.Order().ToArray();
            int n = sorted.Length;
            int points = Math.Min(n, 400);
            var cdf = new List<(double, double)>(points + 1);
            for (int i = 0; i < points; i++)
            {
                int index = (int)((long)i * (n - 1) / Math.Max(1, points - 1));
                cdf.Add((sorted[index], (index + 1.0) / n));
            }

            chart.Add(labels[r], cdf);
        }

        return chart.Render();
    }

    private sealed record ScalingRow(LoadedResult Result, double? Workers, double? Batch, double? Rate, string Group);

    private static string? Scaling(IReadOnlyList<LoadedResult> results)
    {
        var rows = results.Select(r => new ScalingRow(
            r,
            TelemetrySeries.Number(r.Raw["config"]?["workers"]),
            TelemetrySeries.Number(r.Raw["config"]?["batch"]),
            RateOf(r.Document.Scenario),
            $"{r.Document.Workload} {r.Document.Backend}")).ToList();

        // Whichever knob varies across the results becomes the x axis.
        bool Varies(Func<ScalingRow, double?> f) => rows.Select(f).Where(v => v is not null).Distinct().Count() > 1;
        Func<ScalingRow, double?> workers = x => x.Workers, batch = x => x.Batch, rate = x => x.Rate;
        (string axis, Func<ScalingRow, double?> pick) =
            Varies(workers) ? ("concurrency (requests in flight)", workers)
            : Varies(batch) ? ("batch size", batch)
            : Varies(rate) ? ("offered rate (requests/s)", rate)
            : ("", workers);
        if (axis.Length == 0)
        {
            return null;
        }

        string unit = results[0].Document.Metrics.ThroughputUnit;
        var chart = new SvgChart("throughput-scaling", "Throughput scaling", axis, $"throughput ({unit}/s)") { YMin = 0 };
        foreach (var group in rows.GroupBy(x => x.Group))
        {
            var points = group.Where(x => pick(x) is not null)
                .Select(x => (pick(x)!.Value, x.Result.Document.Metrics.ThroughputPerS))
                .OrderBy(p => p.Item1).ToList();
            chart.Add(group.Key, points, lines: true, markers: true);
        }

        return chart.SeriesCount > 0 ? chart.Render() : null;
    }

    private static string? Frontier(IReadOnlyList<LoadedResult> results, Dictionary<LoadedResult, string> labels)
    {
        var points = results.Where(r => r.Document.Metrics.LatencyMs is not null && r.Document.Metrics.ThroughputPerS > 0)
            .Select(r => (Result: r, X: r.Document.Metrics.ThroughputPerS, Y: r.Document.Metrics.LatencyMs!.P99)).ToList();
        if (points.Count == 0)
        {
            return null;
        }

        string unit = results[0].Document.Metrics.ThroughputUnit;
        var chart = new SvgChart("latency-throughput", "p99 latency against throughput", $"throughput ({unit}/s)", "p99 latency (ms)") { XMin = 0, YMin = 0 };

        // Pareto frontier: going up in latency, keep each point that beats every lower-latency point's throughput.
        var frontier = new List<(double, double)>();
        double best = double.NegativeInfinity;
        foreach (var p in points.OrderBy(p => p.Y).ThenByDescending(p => p.X))
        {
            if (p.X > best)
            {
                frontier.Add((p.X, p.Y));
                best = p.X;
            }
        }

        if (frontier.Count > 1)
        {
            chart.Add("frontier (best throughput for its latency)", frontier.OrderBy(f => f.Item1), lines: true, markers: false, dashed: true, colorIndex: 6);
        }

        int color = 0;
        foreach (var p in points)
        {
            chart.Add(labels[p.Result], [(p.X, p.Y)], lines: false, markers: true, colorIndex: color++ % 6);
        }

        return chart.Render();
    }

    private static string? Telemetry(List<(string Label, IReadOnlyList<TimeSeries> Series)> telemetry, string kind, string title, string unit, List<(string Label, double From, double To)>? disturbed = null)
    {
        var series = telemetry.SelectMany(t => t.Series.Where(s => s.Kind == kind).Select(s => (Name: $"{t.Label}: {s.Name}", s.Points))).ToList();
        if (series.Count == 0)
        {
            return null;
        }

        var chart = new SvgChart($"telemetry-{kind}", title, "time (s)", unit) { YMin = 0 };
        foreach ((string label, double from, double to) in disturbed ?? [])
        {
            chart.Bands.Add((from, to, $"{label}: other processes over the quiet-host limit from {from:0.#} s to {to:0.#} s"));
        }

        foreach ((string name, IReadOnlyList<(double T, double Value)> points) in series)
        {
            chart.Add(name, points.Select(p => (p.T, p.Value)));
        }

        return chart.Render();
    }

    /// <summary>The series of known server metrics (gauges scraped every second over the window), one line per result and metric.</summary>
    private static string? ServerSeries(IReadOnlyList<LoadedResult> results, Dictionary<LoadedResult, string> labels, string id, string title, string unit, params string[] keys)
    {
        var chart = new SvgChart(id, title, "time in the window (s)", unit) { YMin = 0 };
        int lines = 0;
        foreach (LoadedResult r in results)
        {
            foreach (ServerMetrics.ServerMetricSummary m in r.Document.Serving?.ServerMetrics?.Known.Where(k => keys.Contains(k.Key) && k.Series is { Count: > 0 }) ?? [])
            {
                chart.Add($"{labels[r]}: {m.Name}", m.Series!.Select(p => (p[0], p[1])));
                lines++;
            }
        }

        return lines == 0 ? null : chart.Render();
    }

    /// <summary>
    /// Normalized roofline: y = achieved fraction of peak FLOP/s (MFU); x = arithmetic intensity over
    /// the ridge point, which is MFU/MBU since intensity = (MFU x peak FLOP/s) / (MBU x peak bytes/s).
    /// The roof is min(x, 1): left of 1 memory-bound, right of it compute-bound.
    /// </summary>
    private static string? Roofline(IReadOnlyList<LoadedResult> results, Dictionary<LoadedResult, string> labels)
    {
        var points = results.Select(r => (Result: r, Mfu: r.Document.Metrics.Value(MetricCatalog.Mfu), Mbu: r.Document.Metrics.Value(MetricCatalog.Mbu)))
            .Where(p => p.Mfu > 0 && p.Mbu > 0)
            .Select(p => (p.Result, X: p.Mfu!.Value / p.Mbu!.Value, Y: p.Mfu!.Value)).ToList();
        if (points.Count == 0)
        {
            return null;
        }

        double xMin = Math.Min(0.01, points.Min(p => p.X) / 2), xMax = Math.Max(100, points.Max(p => p.X) * 2);
        double yMin = Math.Min(0.001, points.Min(p => p.Y) / 2);
        var chart = new SvgChart("roofline", "Roofline (normalized to the card's peaks)", "arithmetic intensity / ridge point", "fraction of peak FLOP/s (MFU)")
        {
            LogX = true,
            LogY = true,
            XMin = xMin,
            XMax = xMax,
            YMin = yMin,
            YMax = 1.5,
        };
        chart.Add("roof: min(bandwidth x intensity, peak compute)", [(xMin, xMin), (1, 1), (xMax, 1)], colorIndex: 6);
        int color = 0;
        foreach (var p in points)
        {
            chart.Add(string.Create(CultureInfo.InvariantCulture, $"{labels[p.Result]} (MFU {p.Y * 100:0.0}%)"), [(p.X, p.Y)], lines: false, markers: true, colorIndex: color++ % 6);
        }

        return chart.Render();
    }

    private static double? RateOf(string scenario) =>
        scenario.StartsWith("poisson:", StringComparison.Ordinal)
        && double.TryParse(scenario["poisson:".Length..].Split(':')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double r) ? r : null;

    /// <summary>Short distinct names: the scenario, plus the file name when scenarios repeat.</summary>
    private static Dictionary<LoadedResult, string> Labels(IReadOnlyList<LoadedResult> results)
    {
        var labels = new Dictionary<LoadedResult, string>();
        var byScenario = results.GroupBy(r => $"{r.Document.Workload} {r.Document.Scenario}").ToDictionary(g => g.Key, g => g.Count());
        foreach (LoadedResult r in results)
        {
            string key = $"{r.Document.Workload} {r.Document.Scenario}";
            labels[r] = byScenario[key] == 1 && results.Select(x => x.Document.Workload).Distinct().Count() > 1 ? key
                : byScenario[key] == 1 ? r.Document.Scenario
                : $"{r.Document.Scenario} ({Path.GetFileNameWithoutExtension(r.Path)})";
        }

        return labels;
    }

    private static string Num(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "-";

    private static string E(string s) => SvgChart.Esc(s);
}
