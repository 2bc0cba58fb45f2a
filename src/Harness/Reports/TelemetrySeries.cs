using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Harness.Reports;

/// <summary>A quantity sampled over time in a result (power, utilization), in the result's own units.</summary>
public sealed record TimeSeries(string Name, string Kind, IReadOnlyList<(double T, double Value)> Points);

/// <summary>
/// Finds time series in a result's optional <c>telemetry</c> section without depending on its exact
/// shape: any array of objects carrying a time field (<c>t_s</c>, <c>time_s</c>, <c>elapsed_s</c>,
/// <c>offset_s</c>) and numeric fields whose names say power, utilization or disturbance; or an
/// object of columns, a time array beside value arrays (the shape the harness writes:
/// <c>series: {t_s: [...], power_w: [...]}</c>). A result without telemetry yields nothing, and the
/// report says so.
/// </summary>
public static class TelemetrySeries
{
    private static readonly string[] TimeKeys = ["t_s", "time_s", "elapsed_s", "offset_s", "timestamp_s"];

    public static IReadOnlyList<TimeSeries> Find(JsonObject result)
    {
        var found = new List<TimeSeries>();
        if (result["telemetry"] is JsonNode telemetry)
        {
            Walk(telemetry, "telemetry", 0, found);
        }

        return found;
    }

    /// <summary>"power" for watts, "utilization" for busy fractions and percentages, "disturbance" for other processes' cores, null for anything else.</summary>
    public static string? KindOf(string field)
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

        return f.Contains("util", StringComparison.Ordinal) || f.Contains("busy", StringComparison.Ordinal) ? "utilization" : null;
    }

    private static void Walk(JsonNode node, string path, int depth, List<TimeSeries> found)
    {
        if (depth > 4)
        {
            return;
        }

        switch (node)
        {
            case JsonObject columns when TimeKeys.FirstOrDefault(k => columns[k] is JsonArray) is { } timeColumn:
                var times = ((JsonArray)columns[timeColumn]!).Select(Number).ToList();
                foreach ((string field, JsonNode? value) in columns)
                {
                    if (field == timeColumn || value is not JsonArray column || KindOf(field) is not { } kind)
                    {
                        continue;
                    }

                    var points = new List<(double, double)>();
                    for (int i = 0; i < Math.Min(times.Count, column.Count); i++)
                    {
                        if (times[i] is { } t && Number(column[i]) is { } v)
                        {
                            points.Add((t, v));
                        }
                    }

                    if (points.Count > 0)
                    {
                        string prefix = path.StartsWith("telemetry.", StringComparison.Ordinal) ? path["telemetry.".Length..] : path;
                        found.Add(new TimeSeries($"{prefix}.{field}", kind, points));
                    }
                }

                break;
            case JsonObject obj:
                foreach ((string key, JsonNode? child) in obj)
                {
                    if (child is not null)
                    {
                        Walk(child, $"{path}.{key}", depth + 1, found);
                    }
                }

                break;
            case JsonArray array when array.Count > 0 && array[0] is JsonObject first:
                string? timeKey = TimeKeys.FirstOrDefault(first.ContainsKey);
                if (timeKey is null)
                {
                    foreach (JsonNode? item in array.Take(8))
                    {
                        if (item is not null)
                        {
                            Walk(item, path + "[]", depth + 1, found);
                        }
                    }

                    break;
                }

                foreach ((string field, JsonNode? value) in first)
                {
                    if (field == timeKey || value is not JsonValue || KindOf(field) is not { } kind)
                    {
                        continue;
                    }

                    var points = new List<(double, double)>();
                    foreach (JsonNode? item in array)
                    {
                        if (item is JsonObject o && Number(o[timeKey]) is { } t && Number(o[field]) is { } v)
                        {
                            points.Add((t, v));
                        }
                    }

                    if (points.Count > 0)
                    {
                        string prefix = path.StartsWith("telemetry.", StringComparison.Ordinal) ? path["telemetry.".Length..] : path;
                        found.Add(new TimeSeries($"{prefix}.{field}", kind, points));
                    }
                }

                break;
        }
    }

    /// <summary>A finite number, whether the node was parsed from text or built in memory from any numeric type.</summary>
    internal static double? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
        && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d) ? d : null;
}
