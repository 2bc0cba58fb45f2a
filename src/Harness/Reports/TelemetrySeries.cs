using System.Globalization;
using System.Text.Json;
using Harness.Results;
using Harness.ServerMetrics;
using Harness.Telemetry;

namespace Harness.Reports;

/// <summary>A quantity sampled over time in a result (power, utilization), in the result's own units.</summary>
/// <param name="Name">Where it was found, e.g. "gpus[0].series.power_w".</param>
/// <param name="Kind">The <see cref="SeriesKind.Id"/> of the chart it goes on.</param>
public sealed record TimeSeries(string Name, string Kind, IReadOnlyList<(double T, double Value)> Points)
{
    /// <summary>The field's own name (power_w), the last part of <see cref="Name"/>.</summary>
    public string Field => Name[(Name.LastIndexOf('.') + 1)..];
}

/// <summary>A kind of series over time and the chart it goes on.</summary>
/// <param name="Axis">The value axis with its unit, e.g. "power (W)".</param>
/// <param name="Percent">Fractions are drawn as percentages.</param>
/// <param name="ServerKeys">For the serving engine's own series: the <see cref="KnownServerMetrics"/> keys drawn on this chart; empty for the machine's telemetry.</param>
public sealed record SeriesKind(string Id, string Title, string Axis, bool Percent = false, params string[] ServerKeys)
{
    public bool Server => ServerKeys.Length > 0;

    /// <summary>The chart's <c>data-chart</c> name: telemetry-power for the machine's, server-requests for the server's.</summary>
    public string ChartId => Server ? Id : $"telemetry-{Id}";
}

/// <summary>
/// The time series of a result's <c>telemetry</c> section, read from the typed report: each GPU's and
/// the CPU's <c>series</c> (<c>t_s</c> beside one column per quantity), a column drawn when its name
/// says what it measures (<see cref="Kinds"/>). A result without telemetry yields nothing, and the
/// report says so.
/// </summary>
public static class TelemetrySeries
{
    public static IReadOnlyList<TimeSeries> Find(ResultDocument result)
    {
        var found = new List<TimeSeries>();
        TelemetryReport? telemetry = result.Telemetry;
        for (int i = 0; i < (telemetry?.Gpus.Count ?? 0); i++)
        {
            Add(string.Create(CultureInfo.InvariantCulture, $"gpus[{i}].series"), telemetry!.Gpus[i].Series, found);
        }

        Add("cpu.series", telemetry?.Cpu?.Series, found);
        return found;
    }

    /// <summary>
    /// The kinds of series the timelines draw, each on its own chart: what it measures, the chart's
    /// title and its value axis with the unit. A series of a kind not listed here is not drawn.
    /// Server-side series (a serving engine's KV-cache use and request queue, scraped beside the
    /// client into <c>serving.server_metrics</c>) are kinds like the others: a result that carries
    /// them gets their charts.
    /// </summary>
    public static IReadOnlyList<SeriesKind> Kinds { get; } =
    [
        new("power", "Power", "power (W)"),
        new("clock", "Clocks", "clock (MHz)"),
        new("gpu-utilization", "GPU utilization", "busy (%)", Percent: true),
        new("cpu-utilization", "CPU utilization (whole machine)", "busy (%)", Percent: true),
        new("disturbance", "Other processes' CPU", "other processes (cores)"),
        new("server-kv-cache", "The server's KV-cache use", "KV cache in use (%)", true, "kv_cache_usage"),
        new("server-requests", "The server's requests running and waiting", "requests (count)", false, "requests_running", "requests_waiting"),
    ];

    /// <summary>
    /// The serving engine's gauges over the window as the scraper summarised them
    /// (<c>serving.server_metrics.known[].series</c>, seconds from the window start), each named by
    /// the family the server published it under; nothing for a run without a server.
    /// </summary>
    public static IReadOnlyList<TimeSeries> FromServer(ServerMetricsReport? server)
    {
        var found = new List<TimeSeries>();
        foreach (ServerMetricSummary m in server?.Known ?? [])
        {
            if (Kinds.FirstOrDefault(k => k.ServerKeys.Contains(m.Key)) is not { } kind || m.Series is not { Count: > 0 } series)
            {
                continue;
            }

            var points = series.Where(p => p.Length == 2 && double.IsFinite(p[0]) && double.IsFinite(p[1])).Select(p => (p[0], p[1])).ToList();
            if (points.Count > 0)
            {
                found.Add(new TimeSeries(m.Name, kind.Id, points));
            }
        }

        return found;
    }

    /// <summary>
    /// The kind of the series <paramref name="field"/> found under <paramref name="path"/>; null for
    /// a quantity no chart shows (temperature, memory, RSS). Utilization under a CPU section is the
    /// machine's; anywhere else, the device's.
    /// </summary>
    public static string? KindOf(string field, string path = "")
    {
        string f = field.ToLowerInvariant();
        if (f == "other_processes_cores")
        {
            return "disturbance";
        }

        if (f.Contains("power", StringComparison.Ordinal) || f.EndsWith("_w", StringComparison.Ordinal) || f.Contains("watts", StringComparison.Ordinal))
        {
            return "power";
        }

        if (f.EndsWith("_mhz", StringComparison.Ordinal) || f.Contains("clock", StringComparison.Ordinal))
        {
            return "clock";
        }

        if (f.Contains("util", StringComparison.Ordinal) || f.Contains("busy", StringComparison.Ordinal))
        {
            return path.Split('.').Any(p => p.StartsWith("cpu", StringComparison.OrdinalIgnoreCase)) ? "cpu-utilization" : "gpu-utilization";
        }

        return null;
    }

    /// <summary>The value as its chart shows it: a fraction (0 to 1) becomes a percentage; a field already in percent stays.</summary>
    public static double Display(SeriesKind kind, string field, double value) =>
        kind.Percent && !field.EndsWith("_pct", StringComparison.OrdinalIgnoreCase) && !field.Contains("percent", StringComparison.OrdinalIgnoreCase) ? value * 100 : value;

    private static void Add(string path, Telemetry.TelemetrySeries? series, List<TimeSeries> found)
    {
        if (series is null)
        {
            return;
        }

        foreach ((string field, object? value) in series.Columns)
        {
            if (KindOf(field, path) is not { } kind || DocumentValues.AsElement(value) is not { ValueKind: JsonValueKind.Array } column)
            {
                continue;
            }

            var points = new List<(double, double)>();
            int i = 0;
            foreach (JsonElement v in column.EnumerateArray())
            {
                if (i >= series.TS.Length)
                {
                    break;
                }

                if (v.ValueKind == JsonValueKind.Number && v.GetDouble() is var d && double.IsFinite(d) && double.IsFinite(series.TS[i]))
                {
                    points.Add((series.TS[i], d));
                }

                i++;
            }

            if (points.Count > 0)
            {
                found.Add(new TimeSeries($"{path}.{field}", kind, points));
            }
        }
    }
}
