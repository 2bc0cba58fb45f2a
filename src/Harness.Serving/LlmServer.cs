using System.Diagnostics;
using System.Net;
using Harness.Decoding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Harness.Serving;

/// <summary>
/// <c>harness serve</c>'s HTTP side: Kestrel on explicit addresses in front of an
/// <see cref="InProcessLlmEndpoint"/> (the continuous-batching loop the agents use), with
/// OpenAI's /v1/models, /v1/completions and /v1/chat/completions (streamed as server-sent events or
/// not), /health and /metrics. This class is the hosting: where it listens, its start, and its
/// drain at shutdown. <see cref="ServerRoutes"/> answers the requests (authentication, errors,
/// admission), <see cref="CompletionWriter"/> writes OpenAI's wire format, and
/// <see cref="StopMatcher"/> turns tokens into text up to a stop string. The process's signals
/// belong to the caller, which calls <see cref="ShutdownAsync"/>.
/// </summary>
public sealed class LlmServer : IAsyncDisposable
{
    private readonly ServeOptions _options;
    private readonly ServerRoutes _routes;
    private WebApplication? _app;

    /// <param name="log">Where the server says what it does besides answering (errors it hid from a client).</param>
    public LlmServer(InProcessLlmEndpoint endpoint, ServedModel model, ServeOptions options, TextWriter log)
    {
        _options = options;
        Metrics = new ServerMetrics(endpoint, model);
        _routes = new ServerRoutes(endpoint, model, options, Metrics, log);
    }

    public ServerMetrics Metrics { get; }

    /// <summary>Where it listens (the real port when <see cref="ServeOptions.Port"/> was 0); set by <see cref="StartAsync"/>.</summary>
    public Uri? Address { get; private set; }

    /// <summary>Requests being answered now.</summary>
    public int InFlight => _routes.InFlight;

    /// <summary>Binds and starts listening; a port in use or an address it cannot bind is one sentence (exit 2).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        IPAddress address = Resolve(_options.Host);
        var host = new WebApplicationOptions { EnvironmentName = Environments.Production, ApplicationName = "harness-serve" };
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(host);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, CallerOwnsLifetime>();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = ServeOptions.MaxBodyBytes;
            k.Listen(address, _options.Port);
        });
        WebApplication app = builder.Build();
        _routes.Map(app);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw HarnessException.BadInput($"Cannot listen on {address}:{_options.Port}: {e.Message}", e);
        }

        _app = app;
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Address = new Uri(bound
            .Replace("[::]", "localhost", StringComparison.Ordinal)
            .Replace("0.0.0.0", "localhost", StringComparison.Ordinal));
    }

    /// <summary>
    /// Stops taking requests (503 from now on), lets the ones in flight finish for up to
    /// <see cref="ServeOptions.ShutdownTimeout"/>, cancels those still running (their streams end
    /// with finish_reason "abort"), then stops listening.
    /// </summary>
    public async Task ShutdownAsync()
    {
        _routes.Drain();
        var deadline = Stopwatch.StartNew();
        while (InFlight > 0 && deadline.Elapsed < _options.ShutdownTimeout)
        {
            await Task.Delay(20);
        }

        _routes.CancelAll();
        var cancelled = Stopwatch.StartNew();
        while (InFlight > 0 && cancelled.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        if (_app is { } app)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await app.StopAsync(stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.DisposeAsync();
        }
    }

    private static IPAddress Resolve(string host)
    {
        if (host == "localhost")
        {
            return IPAddress.Loopback;
        }

        if (IPAddress.TryParse(host, out IPAddress? ip))
        {
            return ip;
        }

        try
        {
            return Dns.GetHostAddresses(host).FirstOrDefault() ?? throw HarnessException.BadInput($"--host {host} has no address.");
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw HarnessException.BadInput($"--host {host} does not resolve: {e.Message}", e);
        }
    }
}
