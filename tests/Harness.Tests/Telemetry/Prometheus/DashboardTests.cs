using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Telemetry;
using Harness.Telemetry.Prometheus;
using Harness.Tests.Fakes;

namespace Harness.Tests.Telemetry.Prometheus;

/// <summary>dashboards/harness.json: importable (datasource as an input) and in step with the exported metrics.</summary>
public partial class DashboardTests
{
    private static JsonNode Dashboard() => JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "dashboards", "harness.json")))!;

    /// <summary>Every panel's title and PromQL expression.</summary>
    public static IEnumerable<(string Title, string Expr)> Queries() =>
        Dashboard()["panels"]!.AsArray()
            .Where(p => p!["targets"] is not null)
            .SelectMany(p => p!["targets"]!.AsArray().Select(t => (p["title"]!.GetValue<string>(), t!["expr"]!.GetValue<string>())));

    /// <summary>The expression with Grafana's variables filled in as "All" would.</summary>
    public static string Concrete(string expr) => expr
        .Replace("$__rate_interval", "1m", StringComparison.Ordinal)
        .Replace("$backend", ".*", StringComparison.Ordinal)
        .Replace("$workload", ".*", StringComparison.Ordinal)
        .Replace("$scenario", ".*", StringComparison.Ordinal)
        .Replace("$device", ".*", StringComparison.Ordinal);

    [Fact]
    public void The_datasource_is_an_input_variable_everywhere()
    {
        JsonNode d = Dashboard();

        Assert.Equal("DS_PROMETHEUS", d["__inputs"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("prometheus", d["__inputs"]![0]!["pluginId"]!.GetValue<string>());
        var uids = d["panels"]!.AsArray().Where(p => p!["type"]!.GetValue<string>() != "row")
            .SelectMany(p => new[] { p!["datasource"] }.Concat(p["targets"]!.AsArray().Select(t => t!["datasource"])))
            .Concat(d["templating"]!["list"]!.AsArray().Select(v => v!["datasource"]))
            .Select(ds => ds!["uid"]!.GetValue<string>()).Distinct().ToList();
        Assert.Equal(["${DS_PROMETHEUS}"], uids);
        Assert.Null(d["id"]);
    }

    [Fact]
    public async Task Every_metric_the_dashboard_reads_is_exported()
    {
        var clock = FakeClock.Milliseconds();
        var nvml = new FakeNvml(1);
        nvml.Set(0, new GpuReading(1, 1, 1, 1, 1, 1, 1, 1, 4));
        var files = new FakeSystemFiles();
        files.SetProcStat((1, 1));
        files.SetProcessStat(1, 1, 1);
        files.Files["/sys/class/powercap/intel-rapl:0/energy_uj"] = "1\n";
        var sampler = new TelemetrySampler([new GpuSource(nvml, clock.Frequency), new CpuSource(clock.Frequency, files, 100, 4096)], clock, TimeSpan.FromMilliseconds(100), background: false);
        var metrics = new HarnessMetrics(new RunLabels("a:cpu", "w", "s"), clock, sampler);
        sampler.Start();
        clock.AdvanceMs(100);
        sampler.SampleNow();
        metrics.PhaseStarted(RunPhases.Measuring, clock.Timestamp);
        metrics.SetResult(HarnessMetricsTests.FinishedRun());
        string exposition = await HarnessMetricsTests.Export(metrics);
        var exported = TypeLine().Matches(exposition).Select(m => m.Groups[1].Value).ToHashSet();

        var read = Queries().SelectMany(q => MetricName().Matches(q.Expr).Select(m => m.Value)).Distinct().ToList();

        Assert.NotEmpty(read);
        Assert.All(read, name => Assert.Contains(Regex.Replace(name, "_bucket$", ""), exported));
    }

    [GeneratedRegex(@"^# TYPE (\S+) ", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"harness_[a-z_]+")]
    private static partial Regex MetricName();
}
