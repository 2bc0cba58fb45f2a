using System.Text.Json;

namespace Harness.Serving;

/// <summary>
/// A refused request as OpenAI's API writes it: an HTTP status and one sentence (never a stack
/// trace), with the error type and the offending field where there is one.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1710", Justification = "Named after the OpenAI API's error object it is rendered as.")]
public sealed class ApiError(int status, string message, string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;

    public string? Param { get; } = param;

    public string? Code { get; } = code;

    /// <summary>Seconds a client should wait (429 and 503).</summary>
    public int? RetryAfterSeconds { get; init; }

    public string Type => Status switch
    {
        401 => "authentication_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    public static ApiError BadRequest(string message, string? param = null) => new(400, message, param);

    public static ApiError Unsupported(string field, string what) => new(400, $"{field}: {what}", field, "unsupported_parameter");

    public void WriteTo(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("message", Message);
        json.WriteString("type", Type);
        json.WriteString("param", Param);
        json.WriteString("code", Code);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
