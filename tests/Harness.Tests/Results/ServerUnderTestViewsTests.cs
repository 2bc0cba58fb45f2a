using System.Text.RegularExpressions;
using Harness.Engine;
using Harness.Metrics;
using Harness.Reports;
using Harness.Results;
using Harness.Telemetry;
using Harness.Telemetry.Prometheus;
using Harness.Tests.Fakes;
using Harness.Tests.Reports;
using Harness.Tests.Telemetry.Prometheus;

namespace Harness.Tests.Results;

/// <summary>
/// Issue 24: the server under test's CPU reaches the result's metrics, the summary, --metrics and the
/// report; a remote one says it was not measured.
/// </summary>
public class ServerUnderTestViewsTests
{
    private static ServerProcessTelemetry Measured() => new()
    {
        Url = "http://127.0.0.1:8000/v1",
        Pids = [4321],
        How = "listens on port 8000",
        Command = "llama-server",
        Processes = 2,
        CpuS = 12.5,
        CpuCores = 1.25,
        RssPeakBytes = 512L * 1024 * 1024,
    };

    private static ResultDocument Built(ServerProcessTelemetry server)
    {
        EngineResult run = Runs.Fake(requests: 50, tokens: 16);
        var telemetry = new TelemetryReport
        {
            Enabled = true,
            Server = server,
            Disturbance = new DisturbanceReport { OtherProcessesCores = 0.05, ServerProcessCores = 1.25 },
        };
        return ResultBuilder.Build(run, "generate", "openai:http://127.0.0.1:8000/v1", null, telemetry: telemetry);
    }

    [Fact]
    public void The_result_carries_the_servers_cores_cpu_per_output_token_and_peak_rss()
    {
        ResultDocument doc = Built(Measured());

        Assert.Equal(1.25, doc.Metrics.Value(MetricCatalog.ServerCpuCores));
        Assert.Equal(12.5 / doc.Metrics.OutputUnits, doc.Metrics.Value(MetricCatalog.ServerCpuSPerToken)!.Value, 12);
        Assert.Equal(512.0 * 1024 * 1024, doc.Metrics.Value(MetricCatalog.ServerRssPeakBytes));
        Assert.Contains("socket inode", doc.MetricDefinitions["telemetry.server"], StringComparison.Ordinal);
        Assert.Contains("server under test", doc.MetricDefinitions["telemetry.disturbance"], StringComparison.Ordinal);
    }

    [Fact]
    public void The_summary_prints_the_server_line_or_says_it_was_not_measured()
    {
        ResultDocument doc = Built(Measured());
        string line = MarkdownSummary.Render(doc).Split('\n').Single(l => l.StartsWith("Server under test", StringComparison.Ordinal));
        double msPerToken = doc.Metrics.Value(MetricCatalog.ServerCpuSPerToken)!.Value * 1000;

        Assert.Equal(
            "Server under test (PID 4321 llama-server, listens on port 8000, 2 processes): 1.25 cores, "
            + $"{msPerToken.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} CPU-ms per output token, "
            + "peak RSS 512 MiB (not counted as disturbance)",
            line);

        var remote = new ServerProcessTelemetry
        {
            Url = "http://10.0.0.9:8000/v1",
            Note = "server CPU not measured: 10.0.0.9 is not this machine (a server here behind another address: give --server-pid)",
        };
        ResultDocument far = Built(remote);
        string summary = MarkdownSummary.Render(far);
        Assert.Contains("Server under test: server CPU not measured: 10.0.0.9 is not this machine", summary, StringComparison.Ordinal);
        Assert.Null(far.Metrics.Value(MetricCatalog.ServerCpuCores));
    }

    [Fact]
    public async Task Metrics_publishes_the_server_gauges_once_the_run_ended()
    {
        var labels = new RunLabels("openai:http://127.0.0.1:8000/v1", "generate", "poisson:1");
        var metrics = new HarnessMetrics(labels, FakeClock.Milliseconds());
        ResultDocument doc = Built(Measured());
        metrics.SetResult(doc);

        string text = await HarnessMetricsTests.Export(metrics);

        Assert.Equal(1.25, HarnessMetricsTests.Value(text, "harness_result_server_cpu_cores"));
        double perToken = HarnessMetricsTests.Value(text, "harness_result_server_cpu_seconds_per_token");
        Assert.Equal(doc.Metrics.Value(MetricCatalog.ServerCpuSPerToken)!.Value, perToken, 12);
        Assert.Equal(512.0 * 1024 * 1024, HarnessMetricsTests.Value(text, "harness_result_server_rss_peak_bytes"));
    }

    [Fact]
    public void The_report_shows_the_server_beside_the_client_and_says_what_would_produce_it()
    {
        LoadedResult served = ReportFixtures.Served();
        string absent = HtmlReportTests.Section(HtmlReport.Render([served]), "server-process");
        Assert.Contains("No result read a server on this machine", absent, StringComparison.Ordinal);

        served.Document.Telemetry = new TelemetryReport
        {
            Enabled = true,
            Server = Measured(),
            Disturbance = new DisturbanceReport { OtherProcessesCores = 0.05 },
        };
        served.Document.Metrics.Set(MetricCatalog.ServerCpuSPerToken, 0.004);
        string section = HtmlReportTests.Section(HtmlReport.Render([served]), "server-process");

        string row = Regex.Match(section, "<tr><td>[^<]*</td><td>PID 4321.*?</tr>").Value;
        Assert.Equal(
            ["<td>PID 4321 llama-server, listens on port 8000, 2 processes</td>", "<td>1.25</td>", "<td>4</td>", "<td>512</td>"],
            Regex.Matches(row, "<td>[^<]*</td>").Skip(1).Take(4).Select(m => m.Value));
    }
}
