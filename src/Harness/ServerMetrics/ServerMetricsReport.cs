using System.Text.Json.Serialization;

namespace Harness.ServerMetrics;

/// <summary>
/// The serving stack's own metrics over the measured window, as the result carries them
/// (<c>serving.server_metrics</c>): each known quantity summarised with its series for the HTML
/// report, and, for a server this build does not know, its raw families.
/// </summary>
public sealed class ServerMetricsReport
{
    public string Url { get; set; } = "";

    /// <summary>vllm, sglang, tensorrt-llm, llama.cpp, tgi or unknown (by the families' prefixes).</summary>
    public string Server { get; set; } = "unknown";

    public double IntervalS { get; set; }

    public int Scrapes { get; set; }

    public int FailedScrapes { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? LastError { get; set; }

    /// <summary>Prompt tokens found in the server's prefix cache / prompt tokens looked up, over the window (from its counters); null where it has none.</summary>
    public double? PrefixCacheHitFraction { get; set; }

    public List<ServerMetricSummary> Known { get; set; } = [];

    /// <summary>Every family of the last scrape, for a server whose names this build does not know (empty for known servers).</summary>
    public List<RawFamily> Families { get; set; } = [];

    internal static ServerMetricsReport Build(
        string url, TimeSpan interval, IReadOnlyList<ServerMetricsScraper.Scrape> scrapes, int failures, string? lastError,
        IReadOnlyList<MetricFamily>? first, IReadOnlyList<MetricFamily>? last, long windowStart, long frequency)
    {
        var report = new ServerMetricsReport
        {
            Url = url,
            IntervalS = interval.TotalSeconds,
            Scrapes = scrapes.Count,
            FailedScrapes = failures,
            LastError = lastError,
            Server = last is null ? "unknown" : KnownServerMetrics.Server(last.Select(f => f.Name)),
        };
        double Seconds(long t) => Math.Round((double)(t - windowStart) / frequency, 3);
        double span = scrapes.Count > 1 ? (double)(scrapes[^1].Timestamp - scrapes[0].Timestamp) / frequency : 0;

        foreach (KnownServerMetric known in KnownServerMetrics.All)
        {
            if (known.Kind == ServerMetricKind.Histogram)
            {
                var seen = scrapes.Where(s => s.Histograms.ContainsKey(known.Key)).ToList();
                if (seen.Count == 0)
                {
                    continue;
                }

                ServerMetricsScraper.Histogram h = seen.Count > 1
                    ? ServerMetricsScraper.Histogram.Delta(seen[0].Histograms[known.Key].Histogram, seen[^1].Histograms[known.Key].Histogram)
                    : seen[0].Histograms[known.Key].Histogram;
                report.Known.Add(new ServerMetricSummary
                {
                    Key = known.Key,
                    Description = known.Description,
                    Name = seen[^1].Histograms[known.Key].Name,
                    Kind = "histogram",
                    Unit = known.Unit,
                    Count = h.Count,
                    Mean = h.Count > 0 ? h.Sum / h.Count : null,
                    P50 = h.Quantile(0.50),
                    P90 = h.Quantile(0.90),
                    P99 = h.Quantile(0.99),
                });
                continue;
            }

            var points = scrapes.Where(s => s.Values.ContainsKey(known.Key)).Select(s => (s.Timestamp, s.Values[known.Key].Name, s.Values[known.Key].Value)).ToList();
            if (points.Count == 0)
            {
                continue;
            }

            var summary = new ServerMetricSummary
            {
                Key = known.Key,
                Description = known.Description,
                Name = points[^1].Name,
                Kind = known.Kind == ServerMetricKind.Gauge ? "gauge" : "counter",
                Unit = known.Unit,
            };
            if (known.Kind == ServerMetricKind.Gauge)
            {
                var finite = points.Where(p => double.IsFinite(p.Value)).Select(p => p.Value).ToList();
                summary.Min = finite.Count > 0 ? finite.Min() : null;
                summary.Mean = finite.Count > 0 ? finite.Average() : null;
                summary.Max = finite.Count > 0 ? finite.Max() : null;
                summary.Last = double.IsFinite(points[^1].Value) ? points[^1].Value : null;
                summary.Series = points.Where(p => double.IsFinite(p.Value)).Select(p => new[] { Seconds(p.Timestamp), p.Value }).ToList();
            }
            else
            {
                // A counter that went down was reset (a server restart): count what came after.
                double increase = 0, previous = points[0].Value;
                var series = new List<double[]> { new[] { Seconds(points[0].Timestamp), 0.0 } };
                foreach ((long t, _, double v) in points.Skip(1))
                {
                    increase += v >= previous ? v - previous : v;
                    previous = v;
                    series.Add([Seconds(t), increase]);
                }

                summary.Increase = increase;
                summary.RatePerS = span > 0 ? increase / span : null;
                summary.Last = double.IsFinite(points[^1].Value) ? points[^1].Value : null;
                summary.Series = series;
            }

            report.Known.Add(summary);
        }

        double? Increase(string key) => report.Known.FirstOrDefault(k => k.Key == key)?.Increase;
        if (Increase("prefix_cache_hits") is { } hits)
        {
            double? looked = Increase("prefix_cache_queries") ?? Increase("prompt_tokens");
            report.PrefixCacheHitFraction = looked is > 0 ? hits / looked : null;
        }

        if (report.Server == "unknown" && last is not null)
        {
            foreach (MetricFamily f in last)
            {
                MetricFamily? before = first?.FirstOrDefault(x => x.Name == f.Name);
                double Total(MetricFamily fam) => fam.Samples.Where(s => s.Name == fam.Name || s.Name == fam.Name + "_total" || s.Name == fam.Name + "_count").Sum(s => double.IsFinite(s.Value) ? s.Value : 0);
                report.Families.Add(new RawFamily
                {
                    Name = f.Name,
                    Type = f.Type,
                    Help = f.Help,
                    Series = f.Samples.Count,
                    Value = Total(f),
                    Increase = f.Type is "counter" or "histogram" or "summary" && before is not null ? Total(f) - Total(before) : null,
                });
            }
        }

        return report;
    }
}

/// <summary>One known quantity over the window: a gauge's range, a counter's increase and rate, or a histogram's window observations.</summary>
public sealed class ServerMetricSummary
{
    public string Key { get; set; } = "";

    public string Description { get; set; } = "";

    /// <summary>The family name the server published it under.</summary>
    public string Name { get; set; } = "";

    /// <summary>gauge, counter or histogram.</summary>
    public string Kind { get; set; } = "";

    public string Unit { get; set; } = "";

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Min { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Mean { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Max { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Last { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Increase { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? RatePerS { get; set; }

    /// <summary>Histograms: observations in the window, and their percentiles (interpolated within buckets, as histogram_quantile).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Count { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? P50 { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? P90 { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? P99 { get; set; }

    /// <summary>[seconds from the window's start, value] per scrape (a counter: its increase so far).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<double[]>? Series { get; set; }
}

/// <summary>A family of an unknown server as its last scrape had it.</summary>
public sealed class RawFamily
{
    public string Name { get; set; } = "";

    public string Type { get; set; } = "";

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Help { get; set; }

    public int Series { get; set; }

    /// <summary>Sum over its series (a histogram's or summary's count).</summary>
    public double Value { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Increase { get; set; }
}
