using System.Text.Json;
using System.Text.Json.Nodes;
using Harness.Metrics;

namespace Harness.Results;

/// <summary>A result file as read from disk: the typed document and its raw JSON (for sections this build does not model).</summary>
public sealed record LoadedResult(string Path, ResultDocument Document, JsonObject Raw);

/// <summary>
/// The one reader of result files: <c>compare</c>, <c>merge</c>, <c>project</c>, <c>plan</c>,
/// <c>cost</c>, <c>report</c> and the ceilings lookup all read through it. It finds files from what a
/// user types (a file, a folder, a glob in the last path segment), reads every schema version
/// written so far, refuses a newer or unknown one by name, and says where a file that is not valid
/// JSON breaks. Documents of other kinds (sweep indexes, agents sweeps) are refused by what they are.
/// </summary>
public static class ResultReader
{
    /// <summary>The index a sweep, repeat or A/B job writes beside its result files.</summary>
    public const string SweepIndexFileName = "sweep-index.json";

    /// <summary>The document an agents sweep writes beside its points' result files (the curve and the cores-per-GPU answer).</summary>
    public const string AgentSweepFileName = "agents-sweep.json";

    /// <summary>Schema versions this build reads (every version written so far).</summary>
    public static IReadOnlyList<int> ReadableVersions => HarnessDocument.ReadableVersions;

    /// <summary>
    /// The result files a spec names: a file, a folder's *.json (not sub-folders), or a glob in the
    /// file name; the indexes that sweeps write beside their results are not results.
    /// </summary>
    public static IReadOnlyList<string> Find(string spec, string role = "result")
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
            string[] files = ResultsIn(spec, "*.json", SearchOption.TopDirectoryOnly);
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
            string[] matches = Directory.Exists(dir) ? ResultsIn(dir, pattern, SearchOption.TopDirectoryOnly) : [];
            return matches.Length > 0
                ? matches
                : throw HarnessException.BadInput($"The {role} pattern '{spec}' matches no result file.");
        }

        throw HarnessException.BadInput($"The {role} path '{spec}' is neither a file nor a folder.");
    }

    /// <summary>Every *.json in <paramref name="folder"/> (and its sub-folders when <paramref name="recursive"/>) but sweep indexes and hidden files; none when the folder is absent.</summary>
    public static IReadOnlyList<string> FindUnder(string folder, bool recursive = true) =>
        Directory.Exists(folder) ? ResultsIn(folder, "*.json", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly) : [];

    /// <summary>Reads every result a spec names.</summary>
    public static IReadOnlyList<LoadedResult> ReadAll(string spec, string role = "result") =>
        Find(spec, role).Select(Read).ToList();

    /// <summary>Reads one run result; a bad file becomes one sentence naming the file (exit 2).</summary>
    public static LoadedResult Read(string path) =>
        TryRead(path, out LoadedResult? result, out string? problem) ? result! : throw HarnessException.BadInput($"Result file '{path}' {problem}.");

    /// <summary>The document of <see cref="Read"/>, for callers that need only it.</summary>
    public static ResultDocument ReadDocument(string path) => Read(path).Document;

    /// <summary>
    /// Reads one run result, or says why not: <paramref name="problem"/> completes "Result file 'X' ..."
    /// (for a listing such as a fleet merge, which goes on past a bad file).
    /// </summary>
    public static bool TryRead(string path, out LoadedResult? result, out string? problem)
    {
        result = null;
        if (!HarnessDocument.TryReadJson(path, DocumentKind.Result, out JsonObject? raw, out int version, out problem))
        {
            return false;
        }

        ResultDocument? doc;
        try
        {
            doc = raw!.Deserialize<ResultDocument>(ResultJson.Options);
        }
        catch (JsonException e)
        {
            problem = $"is not a valid result: {FirstSentence(e.Message)}";
            return false;
        }

        if (doc is null)
        {
            problem = "is empty";
            return false;
        }

        Upgrade(doc, version);
        result = new LoadedResult(path, doc, raw!);
        return true;
    }

    /// <summary>
    /// Reads a harness JSON document of any kind and checks that it parses and that its schema
    /// version is one this build reads (<see cref="HarnessDocument.ReadAnyJson"/>); a reader that
    /// knows the kind it wants uses <see cref="HarnessDocument.Read{T}"/>, which checks the kind too.
    /// </summary>
    public static JsonObject ReadJson(string path, string role = "Result file") => HarnessDocument.ReadAnyJson(path, role);

    /// <summary>
    /// Brings a document read from an older file to the shape this build writes. Version 1 files
    /// written before the metric catalog kept the price in both config and metrics, and agent files
    /// named their cost per job cost_per_job_usd.
    /// </summary>
    private static void Upgrade(ResultDocument doc, int version)
    {
        if (version != 1 || doc.Metrics.Extra is not { } extra)
        {
            return;
        }

        if (extra.Remove(ConfigKeys.Price, out object? price) && !doc.Config.ContainsKey(ConfigKeys.Price))
        {
            doc.Config[ConfigKeys.Price] = price;
        }

        if (extra.Remove("cost_per_job_usd", out object? perJob) && !extra.ContainsKey(MetricCatalog.UsdPerJob.Key))
        {
            extra[MetricCatalog.UsdPerJob.Key] = perJob;
        }
    }

    private static string FirstSentence(string message) => message.Split('\n')[0].Split(". ")[0].TrimEnd('.');

    private static string[] ResultsIn(string dir, string pattern, SearchOption option) =>
        Directory.GetFiles(dir, pattern, option)
            .Where(f => f.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            .Where(f => !Path.GetFileName(f).StartsWith('.'))
            .Where(f => !string.Equals(Path.GetFileName(f), SweepIndexFileName, StringComparison.OrdinalIgnoreCase))
            .Where(f => !string.Equals(Path.GetFileName(f), AgentSweepFileName, StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToArray();
}
