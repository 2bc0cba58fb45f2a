using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Harness.Backends;
using Harness.Cli;
using Harness.Decoding;
using Harness.Models;
using Harness.Testing;
using Harness.Tokenization;

namespace Harness.Serving.Tests;

/// <summary>A server in this process on a free loopback port, over a real decoder (or the latency model).</summary>
internal sealed class InProcessServer : IAsyncDisposable
{
    private InProcessServer(LlmServer server, InProcessLlmEndpoint endpoint, StringWriter log, ServedModel model)
    {
        Server = server;
        Endpoint = endpoint;
        Log = log;
        Model = model;
        Http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };
    }

    public LlmServer Server { get; }

    public InProcessLlmEndpoint Endpoint { get; }

    public StringWriter Log { get; }

    public ServedModel Model { get; }

    public HttpClient Http { get; }

    public Uri Address => Server.Address!;

    /// <param name="vocabulary">Model ids to text; default GPT-2's BPE mapped into the model's vocabulary.</param>
    public static async Task<InProcessServer> StartAsync(string backend = "onnx:cpu", string model = "tiny-gpt2-test", int maxBatch = 4, int maxQueue = 16, string? apiKey = null, VocabularyMap? vocabulary = null, TimeSpan? shutdownTimeout = null)
    {
        TestCache.Ensure();
        DecoderConfig c = ModelCatalog.Load(model);
        int context = Math.Min(c.MaxPositions, 4096);
        var choice = new LlmChoice
        {
            Spec = LlmChoice.ParseBackend(backend),
            Options = new WorkloadOptions { ModelConfig = c, Threads = 1 },
        };
        IStepDecoder decoder = choice.CreateDecoder(HarnessCli.CreateRegistry(), maxBatch, context: context);
        var endpoint = new InProcessLlmEndpoint(decoder, new BatchingOptions { MaxBatch = maxBatch, Window = TimeSpan.Zero });
        var served = new ServedModel(c.Name, context, vocabulary ?? new VocabularyMap(TextTokenizer.Gpt2, c.Vocab));
        var log = new StringWriter();
        var server = new LlmServer(endpoint, served, new ServeOptions { Port = 0, MaxQueue = maxQueue, ApiKey = apiKey, ShutdownTimeout = shutdownTimeout ?? TimeSpan.FromSeconds(30) }, TextWriter.Synchronized(log));
        await server.StartAsync();
        return new InProcessServer(server, endpoint, log, served);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.ShutdownAsync();
        await Server.DisposeAsync();
        Endpoint.Dispose();
    }
}

/// <summary>What a test sends and reads over HTTP: JSON bodies, server-sent events, the metrics.</summary>
internal static class Api
{
    public static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    public static StringContent Raw(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>POSTs a streaming request and returns every event's data (JSON chunks and the final [DONE]).</summary>
    public static async Task<(HttpResponseMessage Response, List<string> Events)> StreamAsync(HttpClient http, string path, object body, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(body) };
        HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var events = new List<string>();
        if (!response.IsSuccessStatusCode)
        {
            return (response, events);
        }

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(line[6..]);
            }
        }

        return (response, events);
    }

    /// <summary>The metrics' samples by series (name and labels as written), e.g. "vllm:num_requests_running{model_name=\"x\",engine=\"0\"}".</summary>
    public static async Task<Dictionary<string, double>> MetricsAsync(HttpClient http)
    {
        string text = await http.GetStringAsync("/metrics");
        var samples = new Dictionary<string, double>();
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            int space = line.LastIndexOf(' ');
            samples[line[..space]] = double.Parse(line[(space + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }

        return samples;
    }

    /// <summary>The one sample of <paramref name="name"/> whose labels contain <paramref name="label"/> (or the only one).</summary>
    public static double Value(Dictionary<string, double> samples, string name, string? label = null) =>
        samples.Single(kv => kv.Key.StartsWith(name + "{", StringComparison.Ordinal) && (label is null || kv.Key.Contains(label, StringComparison.Ordinal))).Value;
}

/// <summary>
/// <c>harness serve</c> as a child process (the real command line, its signals and its memory):
/// started on a free port, read from the line it prints when it serves.
/// </summary>
internal sealed partial class ChildServer : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;

    private ChildServer(Process process, Uri address, StringBuilder output)
    {
        _process = process;
        _output = output;
        Address = address;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
    }

    public Uri Address { get; }

    public HttpClient Http { get; }

    public int Pid => _process.Id;

    public Process Process => _process;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Resident memory now (VmRSS), bytes.</summary>
    public long ResidentBytes()
    {
        string line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    public static Task<ChildServer> StartAsync(params string[] serveArgs)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "harness.dll");
        string dotnet = Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? Environment.ProcessPath : "dotnet";
        var psi = new ProcessStartInfo(dotnet);
        foreach (string a in new[] { "exec", dll, "serve", "--port", "0" }.Concat(serveArgs))
        {
            psi.ArgumentList.Add(a);
        }

        return StartAsync(psi, TimeSpan.FromMinutes(3));
    }

    /// <summary>
    /// <c>./run.sh serve --port 0 ARGS</c> from the repository root, as a user starts it: the script
    /// builds first (a no-op after the tests' build, though it can take a minute on a loaded machine),
    /// then runs the harness. No build server or reused MSBuild node is left holding the output pipes.
    /// </summary>
    public static Task<ChildServer> StartThroughRunShAsync(params string[] serveArgs)
    {
        var psi = new ProcessStartInfo("bash") { WorkingDirectory = Harness.Testing.Repository.Root };
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        psi.Environment["UseSharedCompilation"] = "false";
        foreach (string a in new[] { "run.sh", "serve", "--port", "0" }.Concat(serveArgs))
        {
            psi.ArgumentList.Add(a);
        }

        return StartAsync(psi, TimeSpan.FromMinutes(8));
    }

    private static async Task<ChildServer> StartAsync(ProcessStartInfo psi, TimeSpan startup)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.Environment["HARNESS_CACHE"] = TestCache.Ensure();
        var process = Process.Start(psi)!;
        var output = new StringBuilder();
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
            }

            int at = line.IndexOf(" on http://", StringComparison.Ordinal);
            if (line.StartsWith("harness serve:", StringComparison.Ordinal) && at > 0)
            {
                ready.TrySetResult(new Uri(line[(at + 4)..].Split(' ')[0]));
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Task first = await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(startup));
        if (first != ready.Task)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            lock (output)
            {
                throw new InvalidOperationException($"harness serve did not start (exited: {process.HasExited}):\n{output}");
            }
        }

        return new ChildServer(process, await ready.Task, output);
    }

    /// <summary>Sends <paramref name="signal"/> (15: SIGTERM) and waits for the exit code.</summary>
    public async Task<int> SignalAndWaitAsync(int signal, TimeSpan timeout)
    {
        Assert.Equal(0, Kill(Pid, signal));
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}

internal static class Auth
{
    public static void Bearer(HttpClient http, string key) => http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
}
