using System.Text.Json;
using System.Text.Json.Serialization;

namespace Harness.Results;

/// <summary>The one JSON configuration for result files: snake_case names, invariant numbers. Reading goes through <see cref="ResultReader"/>.</summary>
public static class ResultJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    public static string Serialize(ResultDocument doc) => JsonSerializer.Serialize(doc, Options);

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
