using System.Text.Json;
using Json.Schema;

namespace Harness.Results;

/// <summary>The committed JSON Schema of result files (schema/result.schema.json), embedded in the core.</summary>
public static class ResultSchema
{
    private static readonly Lazy<JsonSchema> Schema = new(Load);

    public static string Text
    {
        get
        {
            using Stream s = typeof(ResultSchema).Assembly.GetManifestResourceStream("Harness.result.schema.json")
                ?? throw new InvalidOperationException("the result schema is not embedded in Harness.Core");
            using var reader = new StreamReader(s);
            return reader.ReadToEnd();
        }
    }

    /// <summary>Validates a result document's JSON; returns the violations (empty when valid).</summary>
    public static IReadOnlyList<string> Validate(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        EvaluationResults results = Schema.Value.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        if (results.IsValid)
        {
            return [];
        }

        return (results.Details ?? [])
            .Where(d => !d.IsValid && d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))
            .DefaultIfEmpty("the document does not match the schema")
            .ToList();
    }

    private static JsonSchema Load() => JsonSchema.FromText(Text);
}
