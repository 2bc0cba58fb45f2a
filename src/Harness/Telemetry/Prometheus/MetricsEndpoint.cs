using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Prometheus;

namespace Harness.Telemetry.Prometheus;

/// <summary>
/// The live <c>/metrics</c> endpoint, on HttpListener (no ASP.NET). Bound to loopback unless an
/// address is given; a port in use fails before the run starts. It counts the scrapes it has answered
/// in full (<see cref="Served"/>), so a run can wait until its final values have left the process
/// rather than until a scrape began, and closing waits for a scrape in flight.
/// </summary>
public sealed class MetricsEndpoint : IDisposable
{
    public const int DefaultPort = 9464;

    private readonly HttpListener _listener;
    private readonly CollectorRegistry _registry;
    private readonly Task _loop;
    private readonly SemaphoreSlim _answering = new(1, 1);
    private long _served;

    private MetricsEndpoint(HttpListener listener, CollectorRegistry registry, string host, int port)
    {
        _listener = listener;
        _registry = registry;
        Host = host;
        Port = port;
        _loop = Task.Run(ServeAsync);
    }

    /// <summary>Scrapes answered in full so far.</summary>
    public long Served => Interlocked.Read(ref _served);

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
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://{host}:{port}/metrics/");
        try
        {
            listener.Start();
        }
        catch (Exception e) when (e is HttpListenerException or SocketException or InvalidOperationException)
        {
            listener.Close();
            string hint = e.Message.Contains("in use", StringComparison.OrdinalIgnoreCase) ? "another process is using the port; choose another with --metrics HOST:PORT" : "check the address";
            throw HarnessException.BadInput($"Cannot serve metrics on {host}:{port}: {e.Message} ({hint}).", e);
        }

        return new MetricsEndpoint(listener, registry, host, port);
    }

    /// <summary>Stops listening once a scrape being answered is complete.</summary>
    public void Dispose()
    {
        _answering.Wait(TimeSpan.FromSeconds(10));
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // the loop ends with the listener; nothing of it is left to report
        }

        _answering.Dispose();
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return; // closed
            }

            await _answering.WaitAsync().ConfigureAwait(false);
            try
            {
                using var body = new MemoryStream();
                await _registry.CollectAndExportAsTextAsync(body).ConfigureAwait(false);
                context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                context.Response.ContentLength64 = body.Length;
                body.Position = 0;
                await body.CopyToAsync(context.Response.OutputStream).ConfigureAwait(false);
                context.Response.Close();
                Interlocked.Increment(ref _served);
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                context.Response.Abort(); // the scraper went away
            }
            finally
            {
                _answering.Release();
            }
        }
    }
}
