using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Harness.Testing;

namespace Harness.Cli.Tests.Commands;

/// <summary>The telemetry and Prometheus flags of <c>harness run</c>, end to end through the command line.</summary>
public sealed class RunCommandTelemetryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-cli-telemetry-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Harness(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = HarnessCli.Invoke(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A short valid run of the real resnet18: offline (no tail target), half a second.</summary>
    private string[] QuickRun(string output, params string[] extra) =>
        ["run", "resnet18", "--scenario", "offline", "-d", "0.5s", "--min-requests", "1", "--warmup", "0s", "--threads", "1", "-o", output, SharedMachine.AllowNoisy, .. extra];

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [Theory]
    [InlineData("--telemetry-interval", "1ms", "--telemetry-interval must lie between 10ms and 60s")]
    [InlineData("--telemetry-interval", "fast", "is not a duration")]
    [InlineData("--metrics", "nope", "--metrics 'nope' has no valid port")]
    [InlineData("--job", "nightly", "need --pushgateway")]
    [InlineData("--pushgateway", "localhost:9091", "is not an http(s) URL")]
    public void Bad_telemetry_flags_are_bad_input(string flag, string value, string message)
    {
        (int code, _, string err) = Harness("run", "resnet18", flag, value);

        Assert.Equal(2, code);
        Assert.Contains(message, err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void A_metrics_port_in_use_exits_2_before_the_run_and_writes_no_result()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        string path = Path.Combine(_dir, "never.json");

        (int code, string stdout, string err) = Harness(QuickRun(path, "--metrics", $"127.0.0.1:{port}"));

        Assert.Equal(2, code);
        Assert.StartsWith($"harness: Cannot serve metrics on 127.0.0.1:{port}", Assert.Single(CliRunner.Messages(err)));
        Assert.Empty(stdout);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void An_unreachable_pushgateway_warns_and_keeps_the_result_and_the_exit_code()
    {
        string path = Path.Combine(_dir, "warn.json");

        (int code, string stdout, string err) = Harness(QuickRun(path, "--pushgateway", $"http://127.0.0.1:{FreePort()}"));

        Assert.True(code == 0, $"exit {code}\n{stdout}\n{err}");
        Assert.Contains("harness: warning: Pushgateway:", err);
        JsonNode result = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.True(result["telemetry"]!["enabled"]!.GetValue<bool>());
        Assert.NotNull(result["telemetry"]!["cpu"]);
    }

    [Fact]
    public void With_push_required_an_unreachable_pushgateway_fails_the_exit_code_but_the_result_is_written()
    {
        string path = Path.Combine(_dir, "required.json");

        (int code, _, string err) = Harness(QuickRun(path, "--pushgateway", $"http://127.0.0.1:{FreePort()}", "--push-required", "--job", "ci"));

        Assert.Equal(1, code);
        Assert.Contains("harness: warning: Pushgateway:", err);
        Assert.True(JsonNode.Parse(File.ReadAllText(path))!["valid"]!.GetValue<bool>());
    }

    [Fact]
    public void No_telemetry_is_recorded_as_off()
    {
        string path = Path.Combine(_dir, "off.json");

        (int code, _, _) = Harness(QuickRun(path, "--no-telemetry"));

        Assert.Equal(0, code);
        JsonNode result = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.False(result["telemetry"]!["enabled"]!.GetValue<bool>());
        Assert.Null(result["metrics"]!["energy_j"]);
        Assert.Contains("energy_j", result["metrics"]!.AsObject().Select(kv => kv.Key));
    }
}
