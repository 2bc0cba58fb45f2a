using System.Globalization;
using Harness.Decoding;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Results;
using Harness.ServerMetrics;
using Harness.Telemetry;

namespace Harness.Reports;

/// <summary>
/// Series over time: the machine's telemetry (GPU power, clocks and utilization, the CPU, other
/// processes) with the disturbed windows and any sampled warm-up shaded, and the serving engine's own
/// series (KV-cache use, requests running and waiting, from <c>serving.server_metrics</c>). Every kind
/// of <see cref="TelemetrySeries.Kinds"/> is one call of <see cref="OverTime"/>.
/// </summary>
internal static class TimelineViews
{
    /// <summary>One run's series over time, with the run it belongs to.</summary>
    public sealed record RunSeries(string Label, string? Run, TimeSeries Series);

    public static void AddServing(HtmlPage page, RunSet runs)
    {
        var series = Find(runs);
        page.Part("serving", "Serving");
        foreach (SeriesKind kind in TelemetrySeries.Kinds.Where(k => k.Server))
        {
            page.View(kind.ChartId, kind.Title + " over time", OverTime(kind, series, []),
                $"No server-side series in these results: a run against an OpenAI-compatible server that publishes its metrics records them (serving.server_metrics: {string.Join(", ", kind.ServerKeys)}).",
                "Scraped from the server's own metrics during the window; the client's latency is in the distributions above (a result keeps no per-request timestamps, so latency over time is not drawn).");
        }

        page.View("server-latency", "The server's latency beside the client's", ServerLatency(runs),
            "No server published latency histograms in these results (serving.server_metrics: ttft, inter_token_latency, e2e_latency, queue_time).",
            "The server's means are exact (its histogram's sum over count in the window); its percentiles are interpolated within its buckets, as histogram_quantile does, so one that falls in a wide bucket says little (vLLM's first end-to-end bucket is 0 to 300 ms: anything in it reads 150 ms). The client's figures are over the requests it measured, from their scheduled send. A gap between the means is time outside the server's clock: the network, the client, or queueing before the server counted the request.");
        page.View("server-process", "The server's CPU and memory", ServerProcess(runs),
            "No result read a server on this machine: a run against a loopback openai:URL (or with --server-pid) records its process"
            + " tree in telemetry.server.",
            "Read from /proc with the CPU telemetry: the process listening on the URL's port (or --server-pid) and its children,"
            + " utime + stime over the window and the highest summed RSS. The server's CPU is not counted among the other processes"
            + " (quiet_host). A remote server is not measured, and its note says so.");
    }

    /// <summary>The server under test (telemetry.server) beside the client's CPU and the other processes; null when none.</summary>
    private static string? ServerProcess(RunSet runs)
    {
        var c = CultureInfo.InvariantCulture;
        string N(double? v, string format) => v is { } x ? x.ToString(format, c) : "-";
        var rows = new List<IReadOnlyList<string>>();
        foreach (LoadedResult r in runs.All)
        {
            if (r.Document.Telemetry?.Server is not { } server)
            {
                continue;
            }

            ResultMetrics m = r.Document.Metrics;
            string who = server.Pids.Count == 0 ? "-" : MarkdownSummary.ServerWho(server);
            rows.Add([
                runs.Label(r), who, N(server.CpuCores, "0.###"), N(m.Value(MetricCatalog.ServerCpuSPerToken) * 1000, "0.###"),
                N(server.RssPeakBytes / (1024.0 * 1024), "0"), N(m.Value(MetricCatalog.ClientCpuCores), "0.###"),
                N(r.Document.Telemetry.Disturbance?.OtherProcessesCores, "0.###"), server.Note ?? "",
            ]);
        }

        return rows.Count == 0 ? null : HtmlPage.Table(
            ["run", "server", "server cores", "server CPU ms per token", "server peak RSS MiB", "client cores", "other processes cores",
                "note"],
            rows);
    }

    /// <summary>The server's own latency histograms over the window, each beside the client's measurement of the same quantity; null when no server published one.</summary>
    private static string? ServerLatency(RunSet runs)
    {
        var c = CultureInfo.InvariantCulture;
        string Ms(double? v) => v is { } x ? x.ToString("0.##", c) : "-";
        var rows = new List<IReadOnlyList<string>>();
        foreach (LoadedResult r in runs.All)
        {
            ResultMetrics m = r.Document.Metrics;
            foreach (ServerMetricSummary h in r.Document.Serving?.ServerMetrics?.Known.Where(k => k.Kind == "histogram" && k.Unit == "s" && k.Count > 0) ?? [])
            {
                DistributionSummary? client = h.Key switch
                {
                    "ttft" => m.TtftMs,
                    "inter_token_latency" => m.ItlMs ?? m.TpotMs,
                    "e2e_latency" => m.LatencyMs,
                    _ => null,
                };
                rows.Add([runs.Label(r), $"{h.Description} ({h.Name})", Ms(h.Count), Ms(h.Mean * 1000), Ms(client?.Mean), Ms(h.P50 * 1000), Ms(client?.P50), Ms(h.P99 * 1000), Ms(client?.P99)]);
            }
        }

        return rows.Count == 0 ? null : HtmlPage.Table(
            ["run", "quantity (server's name)", "server count", "server mean ms", "client mean ms", "server p50 ms", "client p50 ms", "server p99 ms", "client p99 ms"], rows);
    }

    public static void AddTimelines(HtmlPage page, RunSet runs)
    {
        var series = Find(runs);
        var bands = Bands(runs, series);
        bool warmupSampled = series.Any(s => s.Series.Points.Any(p => p.T < 0));
        page.Part("timelines", "Timelines",
            (warmupSampled ? "Shaded grey: the warm-up. " : "The series start when the measured window opens (0 s): the warm-up ran before it and was not sampled. ")
            + "Shaded orange: stretches in which other processes used more CPU than the run's quiet-host limit.");
        foreach (SeriesKind kind in TelemetrySeries.Kinds.Where(k => !k.Server))
        {
            page.View(kind.ChartId, kind.Title + " over time", OverTime(kind, series, bands), Absent(kind.Id));
        }
    }

    /// <summary>
    /// The one chart of series over time: every series of <paramref name="kind"/> against seconds from
    /// the window start, shaded where <paramref name="bands"/> say; null when no run has one.
    /// </summary>
    public static string? OverTime(SeriesKind kind, IReadOnlyList<RunSeries> series, IReadOnlyList<ChartBand> bands)
    {
        var ofKind = series.Where(s => s.Series.Kind == kind.Id).ToList();
        if (ofKind.Count == 0)
        {
            return null;
        }

        var chart = new SvgChart(kind.ChartId, kind.Title, "time from the window start (s)", kind.Axis) { YMin = 0 };
        chart.Bands.AddRange(bands);
        foreach (RunSeries s in ofKind)
        {
            chart.Add($"{s.Label}: {s.Series.Name.Replace(".series.", ".", StringComparison.Ordinal)}", s.Series.Points.Select(p => (p.T, TelemetrySeries.Display(kind, s.Series.Field, p.Value))), run: s.Run);
        }

        return chart.Render();
    }

    /// <summary>Every run's series: the machine's telemetry and the server's own metrics.</summary>
    private static List<RunSeries> Find(RunSet runs) =>
        runs.All.SelectMany(r => TelemetrySeries.Find(r.Document).Concat(TelemetrySeries.FromServer(r.Document.Serving?.ServerMetrics))
            .Select(s => new RunSeries(runs.Label(r), runs.Id(r), s))).ToList();

    private static string Absent(string kind) => kind switch
    {
        "power" => "No power telemetry in these results (it appears when the run had a GPU or RAPL sampler).",
        "clock" => "No clock telemetry in these results (NVML reports the SM clock of a GPU run).",
        "gpu-utilization" => "No GPU utilization telemetry in these results.",
        "cpu-utilization" => "No CPU telemetry in these results.",
        "disturbance" => "No disturbance telemetry in these results (runs record telemetry.cpu.series.other_processes_cores since the quiet-host rule).",
        _ => "No such series in these results.",
    };

    /// <summary>Stretches of each run's window where other processes used more cores than its quiet-host limit, and any sampled warm-up (negative times).</summary>
    private static List<ChartBand> Bands(RunSet runs, IReadOnlyList<RunSeries> series)
    {
        var bands = new List<ChartBand>();
        foreach (LoadedResult r in runs.All)
        {
            string label = runs.Label(r);
            var own = series.Where(s => s.Run == runs.Id(r)).ToList();
            double start = own.SelectMany(s => s.Series.Points).Select(p => p.T).DefaultIfEmpty(0).Min();
            if (start < 0)
            {
                bands.Add(new ChartBand(start, 0, string.Create(CultureInfo.InvariantCulture, $"{label}: warm-up, {start:0.#} s to 0 s"), "warmup", runs.Id(r)));
            }

            double limit = r.Document.Telemetry?.Disturbance?.Limits?.MaxOtherCores ?? DisturbanceLimits.Default.MaxOtherCores;
            foreach (RunSeries s in own.Where(s => s.Series.Kind == "disturbance"))
            {
                double previous = 0;
                double? from = null;
                foreach ((double t, double v) in s.Series.Points)
                {
                    if (v > limit)
                    {
                        from ??= previous;
                    }
                    else if (from is { } f)
                    {
                        bands.Add(new ChartBand(f, previous, Disturbed(label, f, previous), "disturbed", runs.Id(r)));
                        from = null;
                    }

                    previous = t;
                }

                if (from is { } open)
                {
                    bands.Add(new ChartBand(open, previous, Disturbed(label, open, previous), "disturbed", runs.Id(r)));
                }
            }
        }

        return bands;
    }

    private static string Disturbed(string label, double from, double to) =>
        string.Create(CultureInfo.InvariantCulture, $"{label}: other processes over the quiet-host limit from {from:0.#} s to {to:0.#} s");
}
