using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Harness.OpenAI.Tests.Server;

/// <summary>
/// A real Kestrel server on 127.0.0.1 (port chosen by the OS) with OpenAI routes: GET /v1/models,
/// POST /v1/chat/completions and /v1/completions (answered by <see cref="Handler"/>), GET /metrics
/// (<see cref="MetricsText"/>). Every request body is kept for the test to read.
/// </summary>
public sealed class OpenAiTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OpenAiTestServer(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    public Uri Root { get; private set; } = null!;

    public List<string> Models { get; set; } = ["test-model"];

    /// <summary>The context /v1/models says for each model (vLLM's max_model_len); null leaves it out.</summary>
    public int? MaxModelLen { get; set; }

    /// <summary>Answers a completion request: the parsed body, the HTTP context to write to.</summary>
    public Func<HttpContext, JsonElement, Task> Handler { get; set; } = (ctx, _) =>
    {
        ctx.Response.StatusCode = 500;
        return Task.CompletedTask;
    };

    /// <summary>The /metrics text; null answers 404.</summary>
    public Func<string?> MetricsText { get; set; } = () => null;

    public ConcurrentQueue<JsonElement> Bodies { get; } = new();

    public int Completions => _completions;

    /// <summary>Every HTTP request the server received, on any route (models, completions, metrics, unknown).</summary>
    public int Requests => _requests;

    private int _completions;
    private int _requests;

    /// <param name="port">0 lets the OS choose (tests); a fixed one for a server of its own (the benchmark's serve).</param>
    public static async Task<OpenAiTestServer> StartAsync(int port = 0)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.AllowSynchronousIO = false;
        });
        WebApplication app = builder.Build();
        var server = new OpenAiTestServer(app);
        app.Use(async (HttpContext ctx, RequestDelegate next) =>
        {
            Interlocked.Increment(ref server._requests);
            await next(ctx);
        });
        app.MapGet("/v1/models", () => Microsoft.AspNetCore.Http.Results.Json(new
        {
            @object = "list",
            data = server.Models.Select(m => server.MaxModelLen is { } len
                ? (object)new { id = m, @object = "model", max_model_len = len }
                : new { id = m, @object = "model" }),
        }));
        app.MapGet("/metrics", (HttpContext ctx) =>
        {
            string? text = server.MetricsText();
            return text is null ? Microsoft.AspNetCore.Http.Results.NotFound() : Microsoft.AspNetCore.Http.Results.Text(text, "text/plain; version=0.0.4");
        });
        async Task Completion(HttpContext ctx)
        {
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body);
            JsonElement body = doc.RootElement.Clone();
            server.Bodies.Enqueue(body);
            Interlocked.Increment(ref server._completions);
            await server.Handler(ctx, body);
        }

        app.MapPost("/v1/chat/completions", Completion);
        app.MapPost("/v1/completions", Completion);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Root = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        server.BaseUrl = new Uri(server.Root, "/v1");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }

    /// <summary>Starts an event stream: status 200, text/event-stream, headers sent now.</summary>
    public static async Task BeginStream(HttpContext ctx)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        await ctx.Response.StartAsync();
    }

    /// <summary>Writes raw bytes and flushes them to the socket.</summary>
    public static async Task Write(HttpContext ctx, string text)
    {
        await ctx.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text));
        await ctx.Response.Body.FlushAsync();
    }

    public static async Task Write(HttpContext ctx, byte[] bytes)
    {
        await ctx.Response.Body.WriteAsync(bytes);
        await ctx.Response.Body.FlushAsync();
    }
}
