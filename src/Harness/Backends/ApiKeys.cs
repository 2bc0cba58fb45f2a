namespace Harness.Backends;

/// <summary>
/// An API key read from the environment (<c>--api-key-env VAR</c>): the one place that reads one,
/// for the client of <c>openai:URL</c> and for <c>harness serve</c>. The key itself is never printed.
/// </summary>
public static class ApiKeys
{
    /// <summary>Where the client of openai:URL looks when no variable is named.</summary>
    public const string DefaultVariable = "OPENAI_API_KEY";

    /// <summary>
    /// The key in <paramref name="variable"/>; a named variable that is not set, or is empty, is bad input.
    /// With none named, the key in <paramref name="fallback"/> when that is set, else null (no key).
    /// </summary>
    public static string? Read(string? variable, string? fallback = null)
    {
        if (variable is not null)
        {
            string? key = Environment.GetEnvironmentVariable(variable);
            return string.IsNullOrEmpty(key)
                ? throw HarnessException.BadInput($"--api-key-env {variable}: that environment variable is not set, or is empty.")
                : key;
        }

        string? found = fallback is null ? null : Environment.GetEnvironmentVariable(fallback);
        return string.IsNullOrEmpty(found) ? null : found;
    }
}
