using System.Globalization;
using System.Text.Json;

namespace Harness.Hardware.Catalog;

/// <summary>
/// What the hardware and price catalogs share: the built-in copies (catalog/*.json, embedded in
/// the core), the JSON settings, date parsing and the "known names" sentence of bad-input errors.
/// </summary>
public static class CatalogFile
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>The text of a built-in catalog file, e.g. "hardware.json".</summary>
    public static string ReadBuiltIn(string fileName)
    {
        using Stream? s = typeof(CatalogFile).Assembly.GetManifestResourceStream("catalog/" + fileName)
            ?? throw new InvalidOperationException($"The built-in catalog {fileName} is missing from the assembly.");
        using var reader = new StreamReader(s);
        return reader.ReadToEnd();
    }

    /// <summary>Reads a user's catalog file; a missing or unreadable file is bad input.</summary>
    public static string ReadUserFile(string path, string what)
    {
        if (!File.Exists(path))
        {
            throw HarnessException.BadInput($"{what} '{path}' does not exist.");
        }

        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw HarnessException.BadInput($"Cannot read {what.ToLowerInvariant()} '{path}': {e.Message}", e);
        }
    }

    public static T Deserialize<T>(string json, string origin)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options) ?? throw HarnessException.BadInput($"{origin} is empty.");
        }
        catch (JsonException e)
        {
            throw HarnessException.BadInput($"{origin} is not valid catalog JSON: {e.Message}", e);
        }
    }

    /// <summary>An ISO date (yyyy-MM-dd), or null when absent or malformed.</summary>
    public static DateOnly? ParseDate(string? text) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateOnly d) ? d : null;

    /// <summary>"Known: a, b, c." for error sentences.</summary>
    public static string Known(IEnumerable<string> names) => "known: " + string.Join(", ", names) + ".";
}
