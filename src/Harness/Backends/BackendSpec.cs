using System.Globalization;
using System.Text;

namespace Harness.Backends;

/// <summary>
/// A backend as named on the command line: <c>onnx:cpu</c>, <c>onnx:cuda</c>, <c>onnx:cuda:1</c>, or a
/// runtime and the address of an endpoint it talks to: <c>openai:http://127.0.0.1:8000/v1</c> (then
/// <see cref="Device"/> is the URL's scheme and <see cref="Target"/> the URL).
/// </summary>
public sealed record BackendSpec(string Runtime, string Device, int DeviceId)
{
    /// <summary>The endpoint's URL for a runtime that talks to a server; null for a local device.</summary>
    public string? Target { get; init; }

    public static BackendSpec Parse(string text)
    {
        string trimmed = text.Trim();
        int scheme = trimmed.IndexOf("://", StringComparison.Ordinal);
        int colon = trimmed.IndexOf(':', StringComparison.Ordinal);
        if (scheme > 0 && colon > 0 && colon < scheme)
        {
            return ParseEndpoint(text, trimmed[..colon].ToLowerInvariant(), trimmed[(colon + 1)..]);
        }

        string[] parts = trimmed.ToLowerInvariant().Split(':');
        if (parts.Length is < 2 or > 3 || parts.Any(string.IsNullOrEmpty))
        {
            throw HarnessException.BadInput($"Backend '{text}' is not of the form runtime:device[:id], e.g. onnx:cpu or onnx:cuda:0, or runtime:URL, e.g. openai:http://127.0.0.1:8000/v1.");
        }

        int id = 0;
        if (parts.Length == 3 && (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out id) || id > 63))
        {
            throw HarnessException.BadInput($"Backend '{text}' has a device id '{parts[2]}' that is not a number from 0 to 63.");
        }

        return new BackendSpec(parts[0], parts[1], id);
    }

    private static BackendSpec ParseEndpoint(string text, string runtime, string url)
    {
        if (runtime.Length == 0 || !Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            throw HarnessException.BadInput($"Backend '{text}' needs an http:// or https:// URL after '{runtime}:', e.g. {runtime}:http://127.0.0.1:8000/v1.");
        }

        if (uri.UserInfo.Length > 0)
        {
            // A URL is written into results and logs; credentials belong in the API key's variable.
            throw HarnessException.BadInput($"Backend URL for '{runtime}' carries credentials; give the key in an environment variable instead (OPENAI_API_KEY or --api-key-env VAR).");
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            throw HarnessException.BadInput($"Backend URL for '{runtime}' must not have a query or fragment: give the API's base, e.g. http://127.0.0.1:8000/v1.");
        }

        return new BackendSpec(runtime, uri.Scheme, 0) { Target = uri.GetLeftPart(UriPartial.Path).TrimEnd('/') };
    }

    /// <summary>The backend as a file-name part: "onnx-cuda-1", "openai-127.0.0.1-8000-v1".</summary>
    public string FileLabel => FileSafe(ToString());

    /// <summary>Any text as a file-name part: characters other than letters, digits, '.', '_' and '-' become '-'.</summary>
    public static string FileSafe(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text.Replace("://", "-", StringComparison.Ordinal))
        {
            bool keep = char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-';
            if (keep || (sb.Length > 0 && sb[^1] != '-'))
            {
                sb.Append(keep ? c : '-');
            }
        }

        return sb.ToString().TrimEnd('-');
    }

    public override string ToString() => Target is { } url ? $"{Runtime}:{url}" : DeviceId == 0 ? $"{Runtime}:{Device}" : $"{Runtime}:{Device}:{DeviceId}";
}
