using System.Text.Json;
using System.Text.Json.Nodes;

namespace Harness.Results;

/// <summary>A result file as read from disk: the typed document and its raw JSON (for sections this build does not model).</summary>
public sealed record LoadedResult(string Path, ResultDocument Document, JsonObject Raw);

/// <summary>
/// Finds result files from what a user types: a file, a folder (its *.json files, not sub-folders),
/// or a glob in the last path segment (<c>results/base/*.json</c>). The one place that knows which
/// JSON files in a folder are results and which are not (sweep indexes, temporary files).
/// </summary>
public static class ResultFiles
{
    /// <summary>The index a sweep, repeat or A/B job writes beside its result files.</summary>
    public const string SweepIndexFileName = "sweep-index.json";

    public static IReadOnlyList<string> Expand(string spec, string role = "result")
    {
        if (string.IsNullOrWhiteSpace(spec))
        {
            throw HarnessException.BadInput($"The {role} path is empty.");
        }

        if (File.Exists(spec))
        {
            return [spec];
        }

        if (Directory.Exists(spec))
        {
            string[] files = ResultsIn(spec, "*.json");
            return files.Length > 0
                ? files
                : throw HarnessException.BadInput($"The {role} folder '{spec}' holds no result files (*.json).");
        }

        string dir = Path.GetDirectoryName(spec) is { Length: > 0 } d ? d : ".";
        string pattern = Path.GetFileName(spec);
        if (dir.IndexOfAny(['*', '?']) >= 0)
        {
            throw HarnessException.BadInput($"The {role} pattern '{spec}' has a wildcard in a folder name; only the file name may have one (e.g. results/base/*.json).");
        }

        if (pattern.IndexOfAny(['*', '?']) >= 0)
        {
            string[] matches = Directory.Exists(dir) ? ResultsIn(dir, pattern) : [];
            return matches.Length > 0
                ? matches
                : throw HarnessException.BadInput($"The {role} pattern '{spec}' matches no result file.");
        }

        throw HarnessException.BadInput($"The {role} path '{spec}' is neither a file nor a folder.");
    }

    /// <summary>Reads every result a spec names; schema versions must agree with this build's.</summary>
    public static IReadOnlyList<LoadedResult> Load(string spec, string role = "result") =>
        Expand(spec, role).Select(LoadFile).ToList();

    public static LoadedResult LoadFile(string path)
    {
        ResultDocument doc = ResultJson.Read(path);
        JsonObject raw = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
            ?? throw HarnessException.BadInput($"Result file '{path}' is not a JSON object.");
        return new LoadedResult(path, doc, raw);
    }

    /// <summary>The schema_version a file declares, read before the typed reader refuses a foreign one; null when absent or unreadable.</summary>
    public static int? PeekSchemaVersion(string path)
    {
        try
        {
            using FileStream s = File.OpenRead(path);
            using JsonDocument d = JsonDocument.Parse(s);
            return d.RootElement.ValueKind == JsonValueKind.Object
                && d.RootElement.TryGetProperty("schema_version", out JsonElement v)
                && v.TryGetInt32(out int version) ? version : null;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string[] ResultsIn(string dir, string pattern) =>
        Directory.GetFiles(dir, pattern, SearchOption.TopDirectoryOnly)
            .Where(f => f.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            .Where(f => !Path.GetFileName(f).StartsWith('.'))
            .Where(f => !string.Equals(Path.GetFileName(f), SweepIndexFileName, StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToArray();
}
