using System.Net.Http.Headers;
using System.Text;
using Prometheus;

namespace Harness.Telemetry.Prometheus;

/// <summary>
/// Pushes a registry to a Prometheus Pushgateway under a grouping key
/// (<c>/metrics/job/&lt;job&gt;/&lt;label&gt;/&lt;value&gt;...</c>). PUT replaces the whole group, so a rerun
/// with the same key overwrites its previous figures; DELETE removes the group.
/// </summary>
public sealed class PushgatewayClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <param name="groupingKey">Label pairs after the job, in order: instance, workload, backend.</param>
    public PushgatewayClient(Uri baseUrl, string job, IEnumerable<KeyValuePair<string, string>> groupingKey, HttpClient? http = null, TimeSpan? timeout = null)
    {
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = timeout ?? TimeSpan.FromSeconds(10) };
        GroupUrl = new Uri(baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + GroupPath(job, groupingKey));
    }

    /// <summary>The group's URL, e.g. http://127.0.0.1:9091/metrics/job/harness/instance/node1/workload/resnet18/backend/onnx:cpu.</summary>
    public Uri GroupUrl { get; }

    /// <summary>Validates a <c>--pushgateway</c> value: an absolute http(s) URL.</summary>
    public static Uri ParseUrl(string text)
    {
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw HarnessException.BadInput($"--pushgateway '{text}' is not an http(s) URL such as http://127.0.0.1:9091.");
        }

        return uri;
    }

    /// <summary>
    /// The path of a grouping key. Values go in base64url form (<c>label@base64/...</c>) when they hold a
    /// slash or are empty, as the Pushgateway requires; otherwise escaped as they are.
    /// </summary>
    public static string GroupPath(string job, IEnumerable<KeyValuePair<string, string>> labels)
    {
        var sb = new StringBuilder("/metrics");
        Append(sb, "job", job);
        foreach ((string name, string value) in labels)
        {
            Append(sb, name, value);
        }

        return sb.ToString();

        static void Append(StringBuilder sb, string name, string value)
        {
            if (value.Length == 0 || value.Contains('/', StringComparison.Ordinal))
            {
                string b64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(value)).Replace('+', '-').Replace('/', '_');
                sb.Append('/').Append(name).Append("@base64/").Append(b64.Length == 0 ? "=" : b64);
            }
            else
            {
                sb.Append('/').Append(name).Append('/').Append(Uri.EscapeDataString(value));
            }
        }
    }

    /// <summary>Replaces the group with the registry's current metrics. Throws on a refused or failed push.</summary>
    public async Task PushAsync(CollectorRegistry registry, CancellationToken cancellationToken = default)
    {
        using var body = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(body, cancellationToken).ConfigureAwait(false);
        body.Position = 0;
        using var content = new StreamContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("text/plain; version=0.0.4");
        using HttpResponseMessage response = await _http.PutAsync(GroupUrl, content, cancellationToken).ConfigureAwait(false);
        await EnsureSuccess(response, "push to", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the group (all its metrics).</summary>
    public async Task DeleteAsync(CancellationToken cancellationToken = default)
    {
        using HttpResponseMessage response = await _http.DeleteAsync(GroupUrl, cancellationToken).ConfigureAwait(false);
        await EnsureSuccess(response, "delete the group at", cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private async Task EnsureSuccess(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        string first = body.Split('\n', 2)[0].Trim();
        throw new HttpRequestException($"could not {what} {GroupUrl}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}{(first.Length > 0 ? ": " + first : "")}", null, response.StatusCode);
    }
}
