using System.Diagnostics;
using System.Globalization;
using Harness.Backends;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Results;
using Harness.Running;
using Harness.Telemetry;
using Harness.Telemetry.Prometheus;
using Harness.Tests.Fakes;
using Harness.Tests.Running;

namespace Harness.Tests.Telemetry.Prometheus;

/// <summary>The live endpoint, the push and the exposition format against the real Prometheus tools.</summary>
public sealed class PrometheusIntegrationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-prom-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [RequiresBinariesFact("prometheus", "prometheus-pushgateway")]
    public void Prometheus_scrapes_the_live_endpoint_and_the_pushgateway_holds_the_final_metrics_both_agree_with_the_result_file()
    {
        using var servers = new PrometheusServers();
        string path = Path.Combine(_dir, "live.json");
        RunRequest request = BenchmarkRunnerTelemetryTests.Request(path, metrics: new MetricsOptions
        {
            Listen = $"127.0.0.1:{servers.HarnessPort}",
            Linger = TimeSpan.FromSeconds(15),
            Pushgateway = new Uri(servers.PushgatewayUrl),
            Job = "harness-it",
            Instance = "it-node",
        }, duration: TimeSpan.FromSeconds(1)) with
        {
            Settings = new RunSettings
            {
                Scenario = ClosedLoopScenario.Concurrency(2),
                Warmup = WarmupRule.ForRequests(5),
                Stop = new StopRules(TimeSpan.FromSeconds(1), 20, TimeSpan.FromMinutes(2)),
            },
        };

        // The measured window stays open until Prometheus has stored a scrape of it, however late
        // this machine's scrapes come (a window of fixed length could fall between them).
        var progress = new EngineProgress();
        var registry = new BackendRegistry([new UntilScraped(new FakeBackendProvider(), () => progress.Phase == RunPhases.Measuring,
            () => servers.Query("harness_run_phase{job=\"harness\",phase=\"measuring\"} == 1").Count > 0)]);
        RunOutcome outcome = new BenchmarkRunner(registry, nvml: FakeNvml.Loaded()).Run(request, progress);
        // The runner returns right after Prometheus's last scrape of the live endpoint, and closes it:
        // its series are asked for at this moment, before the next scrape fails and marks them stale.
        DateTimeOffset up = DateTimeOffset.UtcNow;
        ResultMetrics m = outcome.Document.Metrics;
        Assert.Empty(outcome.Warnings!);

        // The live endpoint, as Prometheus stored it: the last scrape holds the final counts.
        string sel = "{job=\"harness\",workload=\"spin\",backend=\"fake:cuda\"}";
        double ok = servers.QueryUntil($"harness_requests_total{{job=\"harness\",outcome=\"ok\"}}", v => v == m.RequestsOk, TimeSpan.FromSeconds(20), up);
        Assert.Equal(m.RequestsOk, ok);
        Assert.Equal(m.OutputUnits, servers.QueryUntil($"harness_output_units_total{sel}", v => v == m.OutputUnits, TimeSpan.FromSeconds(10), up));
        Assert.Equal(m.RequestsOk, servers.QueryUntil($"harness_request_latency_seconds_count{sel}", v => v == m.RequestsOk, TimeSpan.FromSeconds(10), up));
        Assert.Equal(1, servers.QueryUntil($"harness_run_phase{{job=\"harness\",phase=\"done\"}}", v => v == 1, TimeSpan.FromSeconds(10), up));
        Assert.NotEmpty(servers.Query($"harness_gpu_power_watts{{job=\"harness\",device=\"gpu0\"}}", up));
        Assert.NotEmpty(servers.Query($"harness_gpu_energy_joules_total{{job=\"harness\",device=\"gpu0\"}}", up));
        Assert.NotEmpty(servers.Query($"harness_cpu_utilization_ratio{sel}", up));
        Assert.True(servers.Query($"count(harness_request_latency_seconds_bucket{sel})", up).Single().Value > 10);
        Assert.True(servers.Query($"max_over_time(harness_run_phase{{job=\"harness\",phase=\"measuring\"}}[1m])", up).Single().Value == 1,
            $"a scrape saw the run measuring; up: {servers.Query("count_over_time(up{job=\"harness\"}[1m])", up).Single().Value} scrapes, {servers.Query("sum_over_time(up{job=\"harness\"}[1m])", up).Single().Value} up, samples {servers.Query("count_over_time(harness_run_phase{job=\"harness\",phase=\"measuring\"}[1m])", up).Single().Value}; {servers.Log()}");

        // Every dashboard query is valid PromQL here, and the run's panels have data.
        foreach ((string title, string expr) in DashboardTests.Queries())
        {
            string concrete = DashboardTests.Concrete(expr);
            Assert.True(servers.QueryError(concrete) is null, $"{title}: {concrete}: {servers.QueryError(concrete)}");
        }

        Assert.NotEmpty(servers.Query(DashboardTests.Concrete(DashboardTests.Queries().First(q => q.Title == "p50 latency").Expr), up));
        Assert.NotEmpty(servers.Query(DashboardTests.Concrete(DashboardTests.Queries().First(q => q.Title == "GPU power").Expr), up));

        // The push, read back from the Pushgateway itself, under its grouping key.
        string pushed = servers.PushgatewayMetrics();
        Assert.Equal(m.RequestsOk, PushedValue(pushed, "harness_requests_total", "outcome=\"ok\""));
        Assert.Equal(m.OutputUnits, PushedValue(pushed, "harness_output_units_total"));
        Assert.Equal(m.EnergyJ!.Value, PushedValue(pushed, "harness_result_energy_joules"), 6);
        Assert.Equal(m.ThroughputPerS, PushedValue(pushed, "harness_result_throughput_per_second"), 6);
        Assert.Equal(outcome.Document.Valid ? 1 : 0, PushedValue(pushed, "harness_result_valid"));

        // ... and as Prometheus scraped it from the Pushgateway (honor_labels keeps job and instance).
        Assert.Equal(m.RequestsOk, servers.QueryUntil("harness_requests_total{job=\"harness-it\",instance=\"it-node\",outcome=\"ok\"}", v => v == m.RequestsOk, TimeSpan.FromSeconds(10)));

        // Deleting the group removes it.
        using var client = new PushgatewayClient(new Uri(servers.PushgatewayUrl), "harness-it", [new("instance", "it-node"), new("workload", "spin"), new("backend", "fake:cuda")]);
        client.DeleteAsync().GetAwaiter().GetResult();
        Assert.DoesNotContain("job=\"harness-it\"", servers.PushgatewayMetrics());
    }

    [RequiresBinariesFact("promtool")]
    public void The_exposition_passes_promtool_check_metrics()
    {
        var clock = FakeClock.Milliseconds();
        var nvml = new FakeNvml(gpus: 2);
        var files = new FakeSystemFiles();
        files.SetProcStat((10, 10), (10, 10));
        files.SetProcessStat(10, 10, 100);
        files.Files["/sys/class/powercap/intel-rapl:0/energy_uj"] = "1000\n";
        var sampler = new TelemetrySampler([new GpuSource(nvml, clock.Frequency), new CpuSource(clock.Frequency, files, 100, 4096)], clock, TimeSpan.FromMilliseconds(100), background: false);
        var metrics = new HarnessMetrics(new RunLabels("onnx:cuda", "minilm", "poisson:5"), clock, sampler);
        nvml.Set(0, new GpuReading(300, 1000, 0.5, 0.5, 1 << 30, 1980, 3201, 60, 0x24));
        nvml.Set(1, new GpuReading(80, 1000, 0, 0, 1 << 20, 345, 3201, 35, ClockEventReasons.GpuIdle));
        metrics.PhaseStarted(RunPhases.Measuring, clock.Timestamp);
        sampler.Start();
        clock.AdvanceMs(100);
        files.Files["/sys/class/powercap/intel-rapl:0/energy_uj"] = "9000\n";
        sampler.SampleNow();
        metrics.RequestEnded(RequestOutcome.Ok, 12, 1, 128);
        metrics.RequestEnded(RequestOutcome.Error, 3, 0, 0);
        metrics.SetResult(HarnessMetricsTests.FinishedRun(valid: false));
        string text = HarnessMetricsTests.Export(metrics).GetAwaiter().GetResult();
        Assert.Contains("harness_cpu_package_energy_joules_total", text);
        Assert.Contains("harness_gpu_throttle_seconds_total", text);

        (int code, string output) = Promtool.CheckMetrics(text);

        Assert.True(code == 0 && output.Trim().Length == 0, $"promtool exit {code}: {output}\n{text}");
    }

    /// <summary>The value of the one pushed series of this group (job harness-it) with the given labels.</summary>
    private static double PushedValue(string exposition, string name, string labels = "")
    {
        var lines = exposition.Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains("job=\"harness-it\"", StringComparison.Ordinal) && l.Contains("instance=\"it-node\"", StringComparison.Ordinal) && l.Contains(labels, StringComparison.Ordinal))
            .ToList();
        Assert.True(lines.Count == 1, $"{lines.Count} pushed series of {name} {labels}:\n{exposition}");
        return double.Parse(lines[0][(lines[0].LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>A backend whose measured requests wait, after their work, until <paramref name="seen"/> holds (polled at most every 200 ms, for 90 s at most).</summary>
    private sealed class UntilScraped(IBackendProvider inner, Func<bool> measuring, Func<bool> seen) : IBackendProvider
    {
        private volatile bool _seen;
        private long _lastPoll;

        public string Runtime => inner.Runtime;

        public IReadOnlyList<string> Devices => inner.Devices;

        public IReadOnlyList<WorkloadInfo> Workloads => inner.Workloads;

        public KeyValuePair<string, string?> PackageVersion => inner.PackageVersion;

        public DoctorCheck CheckDevice(string device) => inner.CheckDevice(device);

        public IReadOnlyList<DoctorCheck> Diagnose() => inner.Diagnose();

        public IWorkload Create(string workload, BackendSpec backend, WorkloadOptions options) => new Gated(inner.Create(workload, backend, options), this);

        private void WaitUntilSeen()
        {
            var deadline = Stopwatch.StartNew();
            while (!_seen && measuring() && deadline.Elapsed < TimeSpan.FromSeconds(90))
            {
                long now = Stopwatch.GetTimestamp();
                long last = Interlocked.Read(ref _lastPoll);
                if (Stopwatch.GetElapsedTime(last, now) >= TimeSpan.FromMilliseconds(200) && Interlocked.CompareExchange(ref _lastPoll, now, last) == last)
                {
                    _seen = seen();
                }
                else
                {
                    Thread.Sleep(20);
                }
            }
        }

        private sealed class Gated(IWorkload workload, UntilScraped owner) : IWorkload
        {
            public WorkloadDescription Prepare(WorkloadContext context) => workload.Prepare(context);

            public void Execute(RequestContext request)
            {
                workload.Execute(request);
                owner.WaitUntilSeen();
            }

            public void Dispose() => workload.Dispose();
        }
    }
}
