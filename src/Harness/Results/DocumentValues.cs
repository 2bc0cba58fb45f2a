using System.Globalization;
using System.Text.Json;

namespace Harness.Results;

/// <summary>
/// Reads the loosely typed values of a result's <c>config</c> and <c>metrics</c> extras. In memory
/// they are CLR objects (int, double, string, dictionaries); read back from a file they are
/// <see cref="JsonElement"/>s. Both read the same here.
/// </summary>
public static class DocumentValues
{
    /// <summary>The value as JSON, whatever its in-memory form; null for null.</summary>
    public static JsonElement? AsElement(object? value) => value switch
    {
        null => null,
        JsonElement e when e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonElement e => e,
        _ => JsonSerializer.SerializeToElement(value, value.GetType(), ResultJson.Options),
    };

    /// <summary>A number, or a string holding one; null when absent or not numeric.</summary>
    public static double? Number(object? value)
    {
        if (AsElement(value) is not { } e)
        {
            return null;
        }

        return e.ValueKind switch
        {
            JsonValueKind.Number => e.GetDouble(),
            JsonValueKind.String when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
            _ => null,
        };
    }

    public static string? Text(object? value) => AsElement(value) is { ValueKind: JsonValueKind.String } e ? e.GetString() : null;

    /// <summary>The first of <paramref name="keys"/> present in <paramref name="map"/> with a numeric value.</summary>
    public static double? FirstNumber(IReadOnlyDictionary<string, object?>? map, params string[] keys)
    {
        if (map is null)
        {
            return null;
        }

        foreach (string key in keys)
        {
            if (map.TryGetValue(key, out object? v) && Number(v) is { } d)
            {
                return d;
            }
        }

        return null;
    }

    /// <summary>The first of <paramref name="keys"/> present in a JSON object with a numeric value.</summary>
    public static double? FirstNumber(JsonElement obj, params string[] keys)
    {
        if (obj.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (string key in keys)
        {
            if (obj.TryGetProperty(key, out JsonElement v) && Number(v) is { } d)
            {
                return d;
            }
        }

        return null;
    }

    /// <summary>A metric added by a later feature (<see cref="ResultMetrics.Extra"/>), as a number.</summary>
    public static double? ExtraNumber(ResultMetrics metrics, params string[] keys) => FirstNumber(metrics.Extra, keys);
}
