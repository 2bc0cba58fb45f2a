using System.Net;
using System.Net.Sockets;
using Harness.OpenAI.Tests.Server;
using Harness.Tests.Fakes;

namespace Harness.OpenAI.Tests;

/// <summary>
/// Every bad option of <c>run generate --backend openai:URL</c> is bad input (exit 2, one sentence)
/// found when the workload is created, before anything connects: a server that counts its requests
/// gets none (not /models, not the probe, not /metrics), and a port where nothing listens gives the
/// option's sentence, not a connection error.
/// </summary>
public sealed class BadInputBeforeConnectingTests : IAsyncLifetime
{
    private OpenAiTestServer _server = null!;
    private readonly SyntheticModel _model = new() { Ttft = TimeSpan.Zero, Tpot = TimeSpan.Zero };
    private readonly TempDir _dir = new();

    public async Task InitializeAsync()
    {
        _server = await OpenAiTestServer.StartAsync();
        _server.Handler = _model.Handle;
        _server.MetricsText = _model.Metrics;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    public static TheoryData<string[], string> BadOptions() => new()
    {
        { ["--set", "sizee=4096"], "--set sizee is not a setting of openai:URL; known: model, api" },
        { ["--set", "temperature=9"], "--set temperature=9 must be a number from 0 to 2, or none." },
        { ["--set", "api=grpc"], "--set api=grpc must be chat or completions." },
        { ["--dataset", "synthetic:in=abc"], "Dataset 'synthetic:in=abc': in=abc must be a number of at least 1." },
        { ["--dataset", "synthetic:size=3"], "Dataset 'synthetic:size=3': unknown setting 'size'" },
        { ["--dataset", "lines:prompts.txt"], "Dataset 'lines:prompts.txt' is not one of synthetic:" },
        { ["--dataset", "trace:/nonexistent/trace.jsonl"], "Dataset file '/nonexistent/trace.jsonl' does not exist." },
        { ["--dataset", "sharegpt:/nonexistent/chats.json"], "Dataset file '/nonexistent/chats.json' does not exist." },
        { ["--server-metrics", "ftp://127.0.0.1/m"], "--server-metrics 'ftp://127.0.0.1/m' is not an http:// or https:// URL (or 'off')." },
        { ["--tokenizer", "/nonexistent/tokenizer.json"], "Tokenizer file '/nonexistent/tokenizer.json' does not exist." },
        { ["--api-key-env", "HARNESS_UNSET_KEY_VAR"], "--api-key-env HARNESS_UNSET_KEY_VAR: that environment variable is not set" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void A_bad_option_exits_2_with_its_sentence_and_the_server_gets_no_request(string[] option, string sentence)
    {
        (int code, string stdout, string stderr) = Run(_server.BaseUrl.ToString(), option);

        Assert.True(code == 2, $"exit {code}: {stderr}\n{stdout}");
        Assert.Contains(sentence, stderr, StringComparison.Ordinal);
        Assert.Equal(0, _server.Requests);
    }

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void A_bad_option_is_named_even_where_nothing_listens(string[] option, string sentence)
    {
        (int code, _, string stderr) = Run($"http://127.0.0.1:{UnusedPort()}/v1", option);

        Assert.Equal(2, code);
        Assert.Contains(sentence, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("/models", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_trace_line_is_bad_input_before_any_request()
    {
        string trace = Path.Combine(_dir.Path, "bad.jsonl");
        File.WriteAllText(trace, """
            {"timestamp": 0, "input_length": 4, "output_length": 2}
            {"timestamp": 5, "input_length": 4}
            """);

        (int code, _, string stderr) = Run(_server.BaseUrl.ToString(), "--dataset", $"trace:{trace}");

        Assert.Equal(2, code);
        Assert.Contains($"Trace '{trace}' line 2 has no output_length.", stderr, StringComparison.Ordinal);
        Assert.Equal(0, _server.Requests);
    }

    [Fact]
    public void Good_options_reach_the_server_so_the_count_above_can_see_requests()
    {
        (int code, string stdout, string stderr) = Run(
            _server.BaseUrl.ToString(), "--dataset", "synthetic:in=8,out=2", "--duration", "0s", "--warmup", "0s", "--min-requests", "1");

        // Valid or not (one request is too few for its tail rule), the run went through: exit 0 or 1, not 2.
        Assert.True(code is 0 or 1 && File.Exists(Path.Combine(_dir.Path, "r.json")), $"exit {code}: {stderr}\n{stdout}");
        Assert.True(_server.Requests >= 3, $"{_server.Requests} requests"); // /models, the probe, the measured request
    }

    private (int Code, string Stdout, string Stderr) Run(string url, params string[] option) =>
        GenerateOverHttpTests.Run(
            ["run", "generate", "--backend", $"openai:{url}", "--no-telemetry", "--out", Path.Combine(_dir.Path, "r.json"), .. option]);

    private static int UnusedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
