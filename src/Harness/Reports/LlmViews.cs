using System.Globalization;
using Harness.Metrics;
using Harness.Results;

namespace Harness.Reports;

/// <summary>
/// The views of LLM runs: TTFT, TPOT and ITL (and any other per-request distribution a result keeps,
/// such as TTFO) as CDFs; and for any run that reports them, MFU and MBU against the catalog's and
/// the measured ceilings, and the roofline.
/// </summary>
internal static class LlmViews
{
    /// <summary>Distributions with their own view; the request latency has its own in <see cref="LatencyViews"/>.</summary>
    private static readonly (MetricDefinition Metric, string What)[] TokenDistributions =
    [
        (MetricCatalog.TtftMs, "time to first token: first output token on the host minus scheduled send"),
        (MetricCatalog.TpotMs, "time per output token: (request end - first token) / (token steps - 1), one value per request"),
        (MetricCatalog.ItlMs, "inter-token latency: every gap between consecutive token steps"),
    ];

    public static bool IsLlm(LoadedResult r) =>
        r.Document.Metrics.ThroughputUnit == "tokens" || TokenDistributions.Any(t => r.Document.Metrics.Distribution(t.Metric) is not null);

    public static void Add(HtmlPage page, RunSet runs)
    {
        RunSet llm = runs.Where(IsLlm);
        if (llm.All.Count == 0)
        {
            page.Part("llm", "LLM").Html("<p class=\"absent\" data-absent=\"part-llm\">No LLM result here (no TTFT, TPOT or ITL, no tokens counted): run the generate workload or an LLM server.</p>");
            return;
        }

        page.Part("llm", "LLM", "A result keeps the samples of request latency only; TTFT, TPOT and ITL are drawn from each distribution's percentile points (min, p50, p90, p95, p99, p99.9, max), so the curves are exact at those points and straight between them.");
        foreach ((MetricDefinition metric, string what) in TokenDistributions.Concat(OtherDistributions(llm)))
        {
            string id = metric.Key.Replace("_ms", "", StringComparison.Ordinal) + "-cdf";
            string share = metric == MetricCatalog.ItlMs ? "token gaps at or below (%)" : "requests at or below (%)";
            page.View(id, $"{metric.Label} distribution (CDF)", LatencyViews.SummaryCdf(llm, metric, id, $"{metric.Label} CDF", share),
                $"No result records {metric.Key}.", char.ToUpperInvariant(what[0]) + what[1..] + ".");
        }
    }

    /// <summary>MFU and MBU against the ceilings, and the roofline: any workload that reports them (decoders, GEMM, copy).</summary>
    public static void AddEfficiency(HtmlPage page, RunSet runs)
    {
        RunSet measured = runs.Where(r => r.Document.Metrics.Value(MetricCatalog.Mfu) is not null || r.Document.Metrics.Value(MetricCatalog.Mbu) is not null);
        if (measured.All.Count == 0)
        {
            page.Part("efficiency", "Compute and memory use").Html("<p class=\"absent\" data-absent=\"part-efficiency\">No result reports MFU or MBU (metrics.mfu, metrics.mbu): the generate and gemm workloads do.</p>");
            return;
        }

        page.Part("efficiency", "Compute and memory use");
        page.View("mfu", "Compute use (MFU) against the catalog and measured ceilings", Mfu(measured),
            "No result reports MFU (metrics.mfu); the generate workload does.",
            "Bars: the share of the card's catalog peak FLOP/s each run achieved. Lines: the catalog peak, and the GEMM ceiling measured on the card (--set ceilings=FILE,...) where a run was given one.");
        page.View("mbu", "Memory bandwidth use (MBU) against the catalog and measured ceilings", Mbu(measured),
            "No result reports MBU (metrics.mbu); the generate workload does.",
            "Bars: the share of the card's catalog peak memory bandwidth each run's decode steps achieved. Lines: the catalog peak, and the copy bandwidth measured on the card where a run was given one.");
        page.View("mfu-mbu-figures", "MFU and MBU figures", Figures(measured), "No result reports MFU or MBU.");
        page.View("roofline", "Roofline", Roofline(measured),
            "No result reports both MFU and MBU (metrics.mfu, metrics.mbu); decoder and GEMM workloads do.");
    }

    /// <summary>Distribution metrics the results carry beyond the ones above: TTFO from a server client, or any the catalog adds later.</summary>
    private static IEnumerable<(MetricDefinition, string)> OtherDistributions(RunSet runs)
    {
        var known = TokenDistributions.Select(t => t.Metric.Key).Append(MetricCatalog.LatencyMs.Key).ToHashSet(StringComparer.Ordinal);
        var keys = runs.All.SelectMany(r => r.Document.Metrics.Extra?.Keys ?? (IEnumerable<string>)[]).Where(k => !known.Contains(k)).Distinct(StringComparer.Ordinal);
        foreach (string key in keys.Order(StringComparer.Ordinal))
        {
            if (MetricCatalog.Find(key) is { IsDistribution: false })
            {
                continue;
            }

            MetricDefinition metric = MetricCatalog.Find(key) ?? new MetricDefinition(key, "ms", Better.Lower, "as the result defines it (metric_definitions)") { Shape = MetricShape.Distribution, Label = key.Replace("_ms", "", StringComparison.Ordinal).ToUpperInvariant() };
            if (runs.All.Any(r => r.Document.Metrics.Distribution(metric) is { Count: > 0 }))
            {
                string definition = runs.All.Select(r => r.Document.MetricDefinitions.GetValueOrDefault(key)).FirstOrDefault(d => d is not null) ?? metric.Definition;
                yield return (metric, definition);
            }
        }
    }

    private static string? Mfu(RunSet runs) => Utilization(runs, "mfu", "Prefill and decode MFU", "FLOP/s",
        [(MetricCatalog.Mfu, "prefill MFU"), (MetricCatalog.MfuDecode, "decode MFU")], MetricCatalog.PeakFlopsPerS, MetricCatalog.MeasuredFlopsPerS, "measured GEMM ceiling");

    private static string? Mbu(RunSet runs) => Utilization(runs, "mbu", "Decode MBU", "bandwidth",
        [(MetricCatalog.Mbu, "decode MBU")], MetricCatalog.PeakBytesPerS, MetricCatalog.MeasuredBytesPerS, "measured copy ceiling");

    /// <summary>Bars of each run's fractions of the catalog peak, with the catalog peak and each distinct measured ceiling drawn on the same scale.</summary>
    private static string? Utilization(RunSet runs, string id, string title, string what, (MetricDefinition Metric, string Name)[] bars, MetricDefinition peak, MetricDefinition measured, string measuredName)
    {
        var rows = runs.All.Where(r => bars.Any(b => r.Document.Metrics.Value(b.Metric) is not null)).ToList();
        if (rows.Count == 0)
        {
            return null;
        }

        var chart = new SvgChart(id, title, $"share of the catalog peak {what} (%)", "run")
        {
            Rows = rows.Select(runs.Label).ToList(),
            RowRuns = rows.Select(runs.Id).ToList(),
            XMin = 0,
        };
        for (int b = 0; b < bars.Length; b++)
        {
            MetricDefinition metric = bars[b].Metric;
            chart.AddBars(bars[b].Name, rows.Select((r, i) => (i, 0.0, (r.Document.Metrics.Value(metric) ?? double.NaN) * 100)).Where(x => double.IsFinite(x.Item3)), colorIndex: b);
        }

        chart.AddRule(ChartAxis.X, 100, "catalog peak", colorIndex: 6);
        foreach (double ceiling in rows.Select(r => r.Document.Metrics.Value(measured) / r.Document.Metrics.Value(peak)).OfType<double>().Where(double.IsFinite).Select(c => Math.Round(c * 100, 1)).Distinct())
        {
            chart.AddRule(ChartAxis.X, ceiling, string.Create(CultureInfo.InvariantCulture, $"{measuredName}: {ceiling:0.#}% of peak"), colorIndex: 1);
        }

        return chart.Render();
    }

    private static string? Figures(RunSet runs)
    {
        (MetricDefinition Metric, string Header)[] columns =
        [
            (MetricCatalog.Mfu, "prefill MFU"), (MetricCatalog.MfuDecode, "decode MFU"), (MetricCatalog.Mbu, "decode MBU"),
            (MetricCatalog.MfuMeasured, "prefill MFU of the measured ceiling"), (MetricCatalog.MbuMeasured, "decode MBU of the measured ceiling"),
            (MetricCatalog.PeakFlopsPerS, "catalog peak (TFLOP/s)"), (MetricCatalog.MeasuredFlopsPerS, "measured GEMM (TFLOP/s)"),
            (MetricCatalog.PeakBytesPerS, "catalog peak (GB/s)"), (MetricCatalog.MeasuredBytesPerS, "measured copy (GB/s)"),
        ];
        var rows = runs.All.Where(r => r.Document.Metrics.Value(MetricCatalog.Mfu) is not null || r.Document.Metrics.Value(MetricCatalog.Mbu) is not null).ToList();
        if (rows.Count == 0)
        {
            return null;
        }

        var c = CultureInfo.InvariantCulture;
        string Cell(MetricDefinition m, double? value) => value is not { } v ? "-" : m.Unit switch
        {
            "fraction" => (v * 100).ToString(v < 0.01 ? "0.###" : "0.#", c) + "%",
            "FLOP/s" => (v / 1e12).ToString("#,0.#", c),
            "B/s" => (v / 1e9).ToString("#,0", c),
            _ => m.Display(v),
        };
        return HtmlPage.Table(
            ["run", .. columns.Select(x => x.Header)],
            rows.Select(r => (IReadOnlyList<string>)[runs.Label(r), .. columns.Select(x => Cell(x.Metric, r.Document.Metrics.Value(x.Metric)))]));
    }

    /// <summary>
    /// Normalized roofline: y = achieved fraction of peak FLOP/s (MFU); x = arithmetic intensity over
    /// the ridge point, which is MFU/MBU since intensity = (MFU x peak FLOP/s) / (MBU x peak bytes/s).
    /// The roof is min(x, 1): left of 1 memory-bound, right of it compute-bound.
    /// </summary>
    private static string? Roofline(RunSet runs)
    {
        var points = runs.All.Select(r => (Result: r, Mfu: r.Document.Metrics.Value(MetricCatalog.Mfu), Mbu: r.Document.Metrics.Value(MetricCatalog.Mbu)))
            .Where(p => p.Mfu > 0 && p.Mbu > 0)
            .Select(p => (p.Result, X: p.Mfu!.Value / p.Mbu!.Value, Y: p.Mfu!.Value)).ToList();
        if (points.Count == 0)
        {
            return null;
        }

        double xMin = Math.Min(0.01, points.Min(p => p.X) / 2), xMax = Math.Max(100, points.Max(p => p.X) * 2);
        double yMin = Math.Min(0.001, points.Min(p => p.Y) / 2);
        var chart = new SvgChart("roofline", "Roofline (normalized to the card's peaks)", "arithmetic intensity / ridge point (ratio)", "MFU (fraction of peak FLOP/s)")
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
            chart.Add(string.Create(CultureInfo.InvariantCulture, $"{runs.Label(p.Result)} (MFU {p.Y * 100:0.0}%)"), [(p.X, p.Y)], lines: false, markers: true, colorIndex: color++ % 6, run: runs.Id(p.Result));
        }

        return chart.Render();
    }
}
