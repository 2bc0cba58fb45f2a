using System.Text.Json;
using System.Text.Json.Serialization;

namespace Harness.Results;

/// <summary>The one JSON configuration for result files: snake_case names, invariant numbers.</summary>
public static class ResultJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    public static string Serialize(ResultDocument doc) => JsonSerializer.Serialize(doc, Options);

    /// <summary>Reads a result file; bad files become one sentence naming the file.</summary>
    public static ResultDocument Read(string path)
    {
        if (!File.Exists(path))
        {
            throw HarnessException.BadInput($"Result file '{path}' does not exist.");
        }

        try
        {
            using FileStream s = File.OpenRead(path);
            var doc = JsonSerializer.Deserialize<ResultDocument>(s, Options)
                ?? throw HarnessException.BadInput($"Result file '{path}' is empty.");
            if (doc.SchemaVersion != ResultDocument.CurrentSchemaVersion)
            {
                throw HarnessException.BadInput($"Result file '{path}' has schema version {doc.SchemaVersion}; this harness reads version {ResultDocument.CurrentSchemaVersion}.");
            }

            return doc;
        }
        catch (JsonException e)
        {
            throw HarnessException.BadInput($"Result file '{path}' is not a valid result JSON: {e.Message}", e);
        }
    }

    private static JsonSerializerOptions Create()
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            WriteIndented = true,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }
}
