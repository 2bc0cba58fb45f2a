using System.Globalization;
using Harness.Engine;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Results;

namespace Harness.Reports;

/// <summary>
/// The views every result has: request latency as a CDF, throughput against the knob a sweep
/// varies, goodput against offered rate under the SLO, and the latency-throughput frontier; and the
/// CDF of any other distribution a result keeps (TTFT, TPOT, ITL, TTFO...).
/// </summary>
internal static class LatencyViews
{
    /// <summary>The share axis of every CDF.</summary>
    private const string ShareAxis = "share at or below (%)";

    public static void Add(HtmlPage page, RunSet runs)
    {
        page.View("latency-cdf", "Request latency (CDF)", LatencyCdf(runs),
            "No result has a request latency distribution (metrics.latency_ms).",
            runs.All.Any(r => r.Document.Samples?.LatencyMs.Length > 0 && r.Document.Samples.Stride > 1)
                ? "Drawn from each result's kept latency samples (every k-th request where the file says stride k); results without samples from their percentile points."
                : "Drawn from each result's latency samples, or from its percentile points (min, p50, p90, p95, p99, p99.9, max) where it kept none.");
        var scaling = Scaling(runs);
        page.View("throughput-scaling", "Throughput against concurrency, batch or offered rate", scaling,
            "Throughput scaling needs results at two or more concurrencies, batch sizes or rates: run a sweep (--sweep-concurrency 1,2,4, --sweep-batch 1,16,64 or --sweep-rate 10,20,40).",
            "One line per workload and backend; tokens/s for LLM runs.");
        page.View("goodput", "Goodput against offered rate, with the SLO", Goodput(runs),
            "Goodput needs open-loop runs at two or more rates with an SLO: --scenario poisson:10 --sweep-rate 10,20,40 --slo \"ttft_p99<500ms,tpot_p99<50ms\".",
            "Goodput counts the requests whose own latency (and TTFT, TPOT) met every objective; the second chart draws each objective's percentile against its limit.");
        page.View("latency-throughput", "Latency-throughput frontier", Frontier(runs),
            "No result has both a throughput and a latency distribution.");
    }

    /// <summary>The CDF of a distribution metric per run, from the percentile points the result keeps.</summary>
    public static string? SummaryCdf(RunSet runs, MetricDefinition metric, string id, string title, string share)
    {
        var withIt = runs.All.Where(r => r.Document.Metrics.Distribution(metric) is { Count: > 0 }).ToList();
        if (withIt.Count == 0)
        {
            return null;
        }

        var dists = withIt.Select(r => r.Document.Metrics.Distribution(metric)!).ToList();
        var chart = new SvgChart(id, title, $"{metric.Label} ({metric.Unit})", share)
        {
            LogX = dists.Min(d => d.Min) > 0 && dists.Max(d => d.Max) / dists.Min(d => d.Min) > 20,
            YMin = 0,
            YMax = 100,
        };
        foreach (LoadedResult r in withIt)
        {
            chart.Add(runs.Label(r), FromSummary(r.Document.Metrics.Distribution(metric)!), markers: true, run: runs.Id(r));
        }

        return chart.Render();
    }

    /// <summary>
    /// The points a distribution summary pins down: at each nearest-rank percentile value, at least
    /// that share of the values lie at or below it; the minimum holds one value in n.
    /// </summary>
    public static List<(double X, double Y)> FromSummary(DistributionSummary d) =>
        [(d.Min, 100.0 / Math.Max(1, d.Count)), (d.P50, 50), (d.P90, 90), (d.P95, 95), (d.P99, 99), (d.P999, 99.9), (d.Max, 100)];

    private static string? LatencyCdf(RunSet runs)
    {
        var withData = runs.All.Where(r => r.Document.Samples?.LatencyMs.Length > 0 || r.Document.Metrics.LatencyMs is { Count: > 0 }).ToList();
        if (withData.Count == 0)
        {
            return null;
        }

        var points = withData.ToDictionary(r => r, r => r.Document.Samples?.LatencyMs is { Length: > 0 } samples ? FromSamples(samples) : FromSummary(r.Document.Metrics.LatencyMs!));
        double min = points.Values.Min(p => p.Min(q => q.X)), max = points.Values.Max(p => p.Max(q => q.X));
        var chart = new SvgChart("latency-cdf", "Request latency CDF", "latency (ms)", "requests at or below (%)")
        {
            LogX = min > 0 && max / min > 20,
            YMin = 0,
            YMax = 100,
        };
        foreach (LoadedResult r in withData)
        {
            chart.Add(runs.Label(r), points[r], markers: r.Document.Samples?.LatencyMs is not { Length: > 0 }, run: runs.Id(r));
        }

        return chart.Render();
    }

    private static List<(double X, double Y)> FromSamples(double[] samples)
    {
        double[] sorted = samples.Order().ToArray();
        int n = sorted.Length;
        int points = Math.Min(n, 400);
        var cdf = new List<(double, double)>(points);
        for (int i = 0; i < points; i++)
        {
            int index = (int)((long)i * (n - 1) / Math.Max(1, points - 1));
            cdf.Add((sorted[index], (index + 1.0) * 100 / n));
        }

        return cdf;
    }

    private sealed record ScalingRow(LoadedResult Result, double? Workers, double? Batch, double? Rate, string Group);

    private static string? Scaling(RunSet runs)
    {
        var charts = new List<string>();
        foreach (var unit in runs.All.GroupBy(r => r.Document.Metrics.ThroughputUnit))
        {
            var rows = unit.Select(r => new ScalingRow(
                r,
                DocumentValues.Number(r.Document.Config.GetValueOrDefault(ConfigKeys.Workers)),
                DocumentValues.Number(r.Document.Config.GetValueOrDefault(ConfigKeys.Batch)),
                OfferedRate(r.Document),
                $"{r.Document.Workload} {r.Document.Backend}")).ToList();

            // Whichever knob varies across the results becomes the x axis.
            bool Varies(Func<ScalingRow, double?> f) => rows.Select(f).Where(v => v is not null).Distinct().Count() > 1;
            Func<ScalingRow, double?> workers = x => x.Workers, batch = x => x.Batch, rate = x => x.Rate;
            (string axis, Func<ScalingRow, double?> pick) =
                Varies(workers) ? ("concurrency (requests in flight)", workers)
                : Varies(batch) ? ("batch size (sequences)", batch)
                : Varies(rate) ? ("offered rate (requests/s)", rate)
                : ("", workers);
            if (axis.Length == 0)
            {
                continue;
            }

            var chart = new SvgChart("throughput-scaling", $"Throughput ({unit.Key}/s) scaling", axis, $"throughput ({unit.Key}/s)") { YMin = 0 };
            foreach (var group in rows.GroupBy(x => x.Group))
            {
                var points = group.Where(x => pick(x) is not null)
                    .Select(x => (pick(x)!.Value, x.Result.Document.Metrics.ThroughputPerS))
                    .OrderBy(p => p.Item1).ToList();
                chart.Add(group.Key, points, lines: true, markers: true);
            }

            if (chart.SeriesCount > 0)
            {
                charts.Add(chart.Render());
            }
        }

        return charts.Count > 0 ? string.Concat(charts) : null;
    }

    /// <summary>Goodput and completed requests against offered rate per workload and backend, and each SLO objective's percentile against its limit.</summary>
    private static string? Goodput(RunSet runs)
    {
        var rated = runs.All.Where(r => OfferedRate(r.Document) is not null && r.Document.Metrics.Value(MetricCatalog.GoodputPerS) is not null).ToList();
        if (rated.Select(r => OfferedRate(r.Document)).Distinct().Count() < 2)
        {
            return null;
        }

        IReadOnlyList<ServiceLevelObjective> slos = rated.SelectMany(r => Objectives(r.Document)).Distinct().ToList();
        string sloText = slos.Count > 0 ? string.Join(", ", slos) : "the SLO";
        double maxRate = rated.Max(r => OfferedRate(r.Document)!.Value);
        var chart = new SvgChart("goodput", $"Goodput under {sloText}", "offered rate (requests/s)", "requests per second (req/s)") { XMin = 0, YMin = 0 };
        chart.Add("offered rate (all requests meeting the SLO)", [(0, 0), (maxRate, maxRate)], dashed: true, colorIndex: 6);
        int color = 0;
        foreach (var group in rated.GroupBy(r => $"{r.Document.Workload} {r.Document.Backend}"))
        {
            var ordered = group.OrderBy(r => OfferedRate(r.Document)).ToList();
            chart.Add($"{group.Key}: goodput", ordered.Select(r => (OfferedRate(r.Document)!.Value, r.Document.Metrics.Value(MetricCatalog.GoodputPerS)!.Value)), markers: true, colorIndex: color);
            chart.Add($"{group.Key}: completed", ordered.Select(r => (OfferedRate(r.Document)!.Value, r.Document.Metrics.RequestsPerS)), markers: true, dashed: true, colorIndex: color + 1);
            color += 2;
        }

        var charts = new List<string> { chart.Render() };
        foreach (ServiceLevelObjective slo in slos)
        {
            MetricDefinition metric = slo.Metric switch
            {
                "ttft" => MetricCatalog.TtftMs,
                "tpot" => MetricCatalog.TpotMs,
                _ => MetricCatalog.LatencyMs,
            };
            string statistic = slo.PercentileName.Replace(".", "", StringComparison.Ordinal);
            if (statistic is not ("p50" or "p90" or "p95" or "p99" or "p999"))
            {
                continue;
            }

            var sloChart = new SvgChart("slo-percentile", $"{metric.Label} {slo.PercentileName} against offered rate", "offered rate (requests/s)", $"{metric.Label} {slo.PercentileName} (ms)") { XMin = 0, YMin = 0 };
            foreach (var group in rated.GroupBy(r => $"{r.Document.Workload} {r.Document.Backend}"))
            {
                sloChart.Add(group.Key, group.OrderBy(r => OfferedRate(r.Document))
                    .Where(r => r.Document.Metrics.Distribution(metric) is not null)
                    .Select(r => (OfferedRate(r.Document)!.Value, r.Document.Metrics.Distribution(metric)!.Get(statistic))), markers: true);
            }

            sloChart.AddRule(ChartAxis.Y, slo.LimitMs, $"SLO: {slo}", colorIndex: 1);
            if (sloChart.SeriesCount > 0)
            {
                charts.Add(sloChart.Render());
            }
        }

        return string.Concat(charts);
    }

    private static string? Frontier(RunSet runs)
    {
        var points = runs.All.Where(r => r.Document.Metrics.LatencyMs is not null && r.Document.Metrics.ThroughputPerS > 0)
            .Select(r => (Result: r, X: r.Document.Metrics.ThroughputPerS, Y: r.Document.Metrics.LatencyMs!.P99)).ToList();
        if (points.Count == 0)
        {
            return null;
        }

        string unit = points[0].Result.Document.Metrics.ThroughputUnit;
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
            chart.Add(runs.Label(p.Result), [(p.X, p.Y)], lines: false, markers: true, colorIndex: color++ % 6, run: runs.Id(p.Result));
        }

        return chart.Render();
    }

    /// <summary>The rate of an open-loop (Poisson) run, from its scenario name.</summary>
    public static double? OfferedRate(ResultDocument doc) =>
        doc.Scenario.StartsWith("poisson:", StringComparison.Ordinal)
        && double.TryParse(doc.Scenario["poisson:".Length..].Split(':')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double r) ? r : null;

    /// <summary>The objectives a run was given (config.slo), in run's grammar; none when it had none.</summary>
    private static IEnumerable<ServiceLevelObjective> Objectives(ResultDocument doc)
    {
        if (DocumentValues.AsElement(doc.Config.GetValueOrDefault(ConfigKeys.Slo))
            is not { ValueKind: System.Text.Json.JsonValueKind.Array } list)
        {
            yield break;
        }

        foreach (System.Text.Json.JsonElement item in list.EnumerateArray())
        {
            ServiceLevelObjective? slo = null;
            try
            {
                slo = item.GetString() is { } text ? ServiceLevelObjective.Parse(text) : null;
            }
            catch (HarnessException)
            {
                // An objective this build does not parse is left out of the chart, not the report.
            }

            if (slo is not null)
            {
                yield return slo;
            }
        }
    }
}
