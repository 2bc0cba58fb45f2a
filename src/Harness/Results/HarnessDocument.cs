using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Harness.Results;

/// <summary>
/// A kind of document the harness writes: its name, the noun its messages use, the role a reader
/// names the file by, and how a document of the kind is told from the others (the older kinds carry
/// no <c>kind</c> field of their own, so each is known by the fields only it has).
/// </summary>
public sealed class DocumentKind
{
    private const string AgentsSweepKind = "agents_sweep";

    private readonly Func<JsonObject, bool> _is;

    private DocumentKind(
        string name, string noun, string role, string field, Func<JsonObject, bool> recognize, bool versionOptional = false)
    {
        Name = name;
        Noun = noun;
        Role = role;
        Field = field;
        _is = recognize;
        VersionOptional = versionOptional;
    }

    /// <summary>A run result (harness run, generate, agents, every point of a sweep).</summary>
    public static DocumentKind Result { get; } = new(
        "result", "run result", "Result file", "workload", o => KindField(o) is null or "result" && o["workload"] is not null);

    /// <summary>The index a sweep, repeat, SLO search or A/B job writes beside its results (sweep-index.json).</summary>
    public static DocumentKind SweepIndex { get; } = new(
        "sweep_index", "sweep index", "Sweep index", "points",
        o => KindField(o) != AgentsSweepKind && o["points"] is JsonArray && o["status"] is JsonValue);

    /// <summary>The curve an agents sweep writes (agents-sweep.json).</summary>
    public static DocumentKind AgentsSweep { get; } = new(
        AgentsSweepKind, "agents sweep", "Agents sweep file", "kind", o => KindField(o) == AgentsSweepKind);

    /// <summary>What a fleet submitted (fleet.json).</summary>
    public static DocumentKind FleetManifest { get; } = new(
        "fleet_manifest", "fleet manifest", "Fleet manifest", "job_id",
        o => o["job_id"] is JsonValue && o["scheduler"] is JsonValue && o["run_arguments"] is JsonArray);

    /// <summary>
    /// What a fleet task's script records after the harness exits (status/task-N.json). Scripts
    /// written before the record carried a schema version wrote none: such a record reads as version 1.
    /// </summary>
    public static DocumentKind TaskExit { get; } = new(
        "task_exit", "task exit record", "Task exit record", "exit_code",
        o => o["exit_code"] is JsonValue && o["task"] is JsonValue, versionOptional: true);

    /// <summary>Every kind, in the order a document is told apart (the ones with a kind field first).</summary>
    public static IReadOnlyList<DocumentKind> All { get; } = [AgentsSweep, SweepIndex, FleetManifest, TaskExit, Result];

    public string Name { get; }

    /// <summary>What a message calls a document of this kind ("sweep index").</summary>
    public string Noun { get; }

    /// <summary>How an error names the file ("Sweep index '...' ...").</summary>
    public string Role { get; }

    /// <summary>The field whose absence says a document is not of this kind.</summary>
    public string Field { get; }

    /// <summary>Whether a document may leave out its schema version (read as version 1).</summary>
    public bool VersionOptional { get; }

    /// <summary>The kind of <paramref name="document"/>; null when it is none the harness writes.</summary>
    public static DocumentKind? Of(JsonObject document) => All.FirstOrDefault(k => k._is(document));

    public override string ToString() => Name;

    internal static string? KindField(JsonObject o) => o["kind"] is JsonValue k && k.TryGetValue(out string? s) ? s : null;
}

/// <summary>
/// The one reader of every document the harness writes: run results, sweep indexes, agents sweeps,
/// fleet manifests and task exit records. It checks that the file parses, that its schema version
/// is one this build reads and that it is of the kind asked for, and gives the typed document; a
/// file that fails is one sentence naming it (exit 2). Nothing else in the harness reads its own
/// files as raw JSON; files of other tools go through an importer (Projection/ForeignResultImporter).
/// </summary>
public static class HarnessDocument
{
    /// <summary>Schema versions this build reads (every version written so far), for every kind.</summary>
    public static IReadOnlyList<int> ReadableVersions { get; } = [1];

    /// <summary>The typed document of <paramref name="kind"/> at <paramref name="path"/>; a bad file is bad input (exit 2).</summary>
    public static T Read<T>(string path, DocumentKind kind)
        where T : class =>
        TryRead(path, kind, out T? document, out string? problem) ? document! : throw Bad(kind.Role, path, problem);

    /// <summary>
    /// Reads a document of <paramref name="kind"/>, or says why not: <paramref name="problem"/>
    /// completes "{role} 'path' ..." (for listings that go on past a bad file).
    /// </summary>
    public static bool TryRead<T>(string path, DocumentKind kind, out T? document, out string? problem)
        where T : class
    {
        document = null;
        if (!TryReadJson(path, kind, out JsonObject? raw, out _, out problem))
        {
            return false;
        }

        return TryConvert(raw!, kind, out document, out problem);
    }

    /// <summary>
    /// The checked JSON of a document of <paramref name="kind"/> (for a reader that also keeps
    /// sections this build does not model).
    /// </summary>
    public static JsonObject ReadJson(string path, DocumentKind kind) =>
        TryReadJson(path, kind, out JsonObject? raw, out _, out string? problem) ? raw! : throw Bad(kind.Role, path, problem);

    /// <summary>The JSON of a harness document of any kind, checked to parse and to declare a schema version this build reads.</summary>
    public static JsonObject ReadAnyJson(string path, string role) =>
        TryParse(path, null, out JsonObject? raw, out _, out string? problem) ? raw! : throw Bad(role, path, problem);

    /// <summary>
    /// The kind of the document at <paramref name="path"/> once it parses with a readable schema
    /// version; null for none the harness writes.
    /// </summary>
    public static DocumentKind? KindOf(string path, string role = "File") =>
        TryParse(path, null, out JsonObject? raw, out _, out string? problem) ? DocumentKind.Of(raw!) : throw Bad(role, path, problem);

    /// <summary>
    /// Parses <paramref name="path"/> and checks its schema version and its kind; <paramref name="version"/>
    /// is the version it declares (1 for a kind whose older files declare none).
    /// </summary>
    public static bool TryReadJson(string path, DocumentKind kind, out JsonObject? raw, out int version, out string? problem)
    {
        if (!TryParse(path, kind, out raw, out version, out problem))
        {
            return false;
        }

        DocumentKind? actual = DocumentKind.Of(raw!);
        if (actual == kind)
        {
            return true;
        }

        problem = actual is not null ? $"is {Article(actual.Noun)} {actual.Noun} document, not {Article(kind.Noun)} {kind.Noun}"
            : DocumentKind.KindField(raw!) is { } named
                ? $"is {Article(named)} {named.Replace('_', ' ')} document, not {Article(kind.Noun)} {kind.Noun}"
            : $"is not {Article(kind.Noun)} {kind.Noun}: it has no {kind.Field}";
        raw = null;
        return false;
    }

    /// <summary>The typed document of JSON already checked by <see cref="TryReadJson"/>.</summary>
    public static bool TryConvert<T>(JsonObject raw, DocumentKind kind, out T? document, out string? problem)
        where T : class
    {
        document = null;
        try
        {
            document = raw.Deserialize<T>(ResultJson.Options);
        }
        catch (JsonException e)
        {
            problem = $"is not a valid {kind.Noun}: {FirstSentence(e.Message)}";
            return false;
        }

        problem = document is null ? "is empty" : null;
        return document is not null;
    }

    private static bool TryParse(string path, DocumentKind? kind, out JsonObject? raw, out int version, out string? problem)
    {
        raw = null;
        version = 0;
        string harness = kind is null || kind == DocumentKind.Result ? "harness result" : $"harness {kind.Noun}";
        if (!File.Exists(path))
        {
            problem = "does not exist";
            return false;
        }

        JsonNode? node;
        try
        {
            using FileStream stream = File.OpenRead(path);
            if (stream.Length == 0)
            {
                problem = "is empty";
                return false;
            }

            node = JsonNode.Parse(stream);
        }
        catch (JsonException e)
        {
            // System.Text.Json counts lines and bytes from 0.
            string where = e.LineNumber is { } line
                ? string.Create(CultureInfo.InvariantCulture, $" at line {line + 1}, byte {(e.BytePositionInLine ?? 0) + 1}")
                : "";
            problem = $"is not valid JSON{where} (truncated or corrupt)";
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"cannot be read: {FirstSentence(e.Message)}";
            return false;
        }

        if (node is not JsonObject obj)
        {
            problem = $"is not a {harness}: its JSON is not an object";
            return false;
        }

        int declared;
        if (obj["schema_version"] is null && kind is { VersionOptional: true })
        {
            declared = 1;
        }
        else if (obj["schema_version"] is not JsonValue v || !v.TryGetValue(out declared))
        {
            problem = $"is not a {harness}: it has no schema_version";
            return false;
        }

        int newest = ReadableVersions.Max();
        if (declared > newest)
        {
            string writer = obj["harness_version"]?.ToString() ?? "version unknown";
            problem = $"has schema version {declared}, newer than this harness reads (up to {newest}); "
                + $"read it with the harness that wrote it ({writer}) or a newer one";
            return false;
        }

        if (!ReadableVersions.Contains(declared))
        {
            problem = $"has schema version {declared}, which no harness wrote (this one reads {string.Join(", ", ReadableVersions)})";
            return false;
        }

        raw = obj;
        version = declared;
        problem = null;
        return true;
    }

    private static HarnessException Bad(string role, string path, string? problem) =>
        HarnessException.BadInput($"{role} '{path}' {problem}.");

    private static string Article(string word) => "aeiou".Contains(char.ToLowerInvariant(word[0])) ? "an" : "a";

    private static string FirstSentence(string message) => message.Split('\n')[0].Split(". ")[0].TrimEnd('.');
}
