using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Prometheus;

namespace Harness.Telemetry.Prometheus;

/// <summary>
/// The live <c>/metrics</c> endpoint: prometheus-net's HttpListener <see cref="MetricServer"/>, no
/// ASP.NET. Bound to loopback unless an address is given; a port in use fails before the run starts.
/// </summary>
public sealed class MetricsEndpoint : IDisposable
{
    public const int DefaultPort = 9464;

    private readonly MetricServer _server;

    private MetricsEndpoint(MetricServer server, string host, int port)
    {
        _server = server;
        Host = host;
        Port = port;
    }

    /// <summary>The host part as given to HttpListener: an address, a name, or "+" for every interface.</summary>
    public string Host { get; }

    public int Port { get; }

    /// <summary>Where to scrape, e.g. http://127.0.0.1:9464/metrics.</summary>
    public string Url => $"http://{(Host == "+" ? "127.0.0.1" : Host)}:{Port}/metrics";

    /// <summary>
    /// Parses <c>--metrics</c>: "9464" or ":9464" (loopback), "127.0.0.1:9464", "[::1]:9464",
    /// "localhost:9464", "0.0.0.0:9464" or "*:9464" (every interface, only when asked for).
    /// </summary>
    public static (string Host, int Port) ParseAddress(string text)
    {
        string t = text.Trim();
        string host = "127.0.0.1";
        string portText = t;
        int colon = t.LastIndexOf(':');
        if (colon >= 0)
        {
            host = t[..colon];
            portText = t[(colon + 1)..];
            if (host.Length == 0)
            {
                host = "127.0.0.1";
            }
            else if (host is "0.0.0.0" or "*" or "+" or "[::]")
            {
                host = "+";
            }
            else if (host.StartsWith('[') != host.EndsWith(']') || (!host.StartsWith('[') && host.Contains(':', StringComparison.Ordinal)))
            {
                throw HarnessException.BadInput($"--metrics '{text}' has an IPv6 address without brackets; write it as [::1]:{DefaultPort}.");
            }
        }

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            throw HarnessException.BadInput($"--metrics '{text}' has no valid port (1-65535); use e.g. 127.0.0.1:{DefaultPort} or just {DefaultPort}.");
        }

        if (host.Length == 0 || host.Any(char.IsWhiteSpace) || host.Contains('/', StringComparison.Ordinal))
        {
            throw HarnessException.BadInput($"--metrics '{text}' has an invalid host.");
        }

        return (host, port);
    }

    /// <summary>Starts serving <paramref name="registry"/>; a taken port or a foreign address is bad input (exit 2).</summary>
    public static MetricsEndpoint Start(string address, CollectorRegistry registry)
    {
        (string host, int port) = ParseAddress(address);
        var server = new MetricServer(host, port, "metrics/", registry);
        try
        {
            server.Start();
        }
        catch (Exception e) when (e is HttpListenerException or SocketException or InvalidOperationException)
        {
            ((IDisposable)server).Dispose();
            string hint = e.Message.Contains("in use", StringComparison.OrdinalIgnoreCase) ? "another process is using the port; choose another with --metrics HOST:PORT" : "check the address";
            throw HarnessException.BadInput($"Cannot serve metrics on {host}:{port}: {e.Message} ({hint}).", e);
        }

        return new MetricsEndpoint(server, host, port);
    }

    public void Dispose() => _server.Stop();
}
