using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Harness.Backends;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Results;
using Harness.Running;
using Harness.Telemetry;
using Harness.Telemetry.Prometheus;
using Harness.Testing;
using Harness.Tests.Fakes;
using Harness.Validity;

namespace Harness.Tests.Running;

public sealed class BenchmarkRunnerTelemetryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-telemetry-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static RunRequest Request(string output, string backend = "fake:cuda", MetricsOptions? metrics = null, TelemetryOptions? telemetry = null, TimeSpan? duration = null) => new(
        "spin",
        BackendSpec.Parse(backend),
        new WorkloadOptions(),
        new RunSettings
        {
            Scenario = ClosedLoopScenario.Offline,
            Warmup = WarmupRule.ForRequests(3),
            Stop = new StopRules(duration ?? TimeSpan.FromMilliseconds(300), 10, TimeSpan.FromMinutes(1)),
        },
        output,
        Telemetry: telemetry,
        Metrics: metrics,
        Disturbance: SharedMachine.Limits); // real runs on a shared machine: see SharedMachine

    [Fact]
    public void A_GPU_run_reports_energy_per_token_and_a_live_sampler()
    {
        string path = Path.Combine(_dir, "gpu.json");

        RunOutcome outcome = new BenchmarkRunner(FakeBackendProvider.Registry(), nvml: FakeNvml.Loaded()).Run(Request(path));

        ResultDocument doc = outcome.Document;
        Assert.True(doc.Telemetry!.Enabled);
        Assert.Equal(["gpu:0"], doc.Telemetry.Energy!.Parts);
        Assert.Equal("counter", doc.Telemetry.Energy.Method);
        Assert.True(doc.Metrics.EnergyJ > 0);
        Assert.Equal(doc.Metrics.EnergyJ!.Value / doc.Metrics.OutputUnits, doc.Metrics.JoulesPerToken!.Value, 9);
        Assert.Equal(doc.Metrics.JoulesPerToken, doc.Metrics.JoulesPerUnit);
        Assert.Equal(doc.Metrics.EnergyJ!.Value / doc.Metrics.DurationS, doc.Metrics.AvgPowerW!.Value, 6);
        Assert.Equal(0.97, doc.Telemetry.Gpus.Single().BusyFraction!.Value, 9);
        ValidityCondition alive = doc.Validity.Single(v => v.Name == "telemetry_alive");
        Assert.True(alive.Passed, alive.Detail);
        Assert.True(File.Exists(path));
        Assert.Empty(outcome.Warnings!);
    }

    [Fact]
    public void The_result_with_telemetry_matches_the_schema()
    {
        string path = Path.Combine(_dir, "schema.json");
        new BenchmarkRunner(FakeBackendProvider.Registry(), nvml: FakeNvml.Loaded()).Run(Request(path));

        IReadOnlyList<string> errors = ResultSchema.Validate(File.ReadAllText(path));
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        JsonNode telemetry = JsonNode.Parse(File.ReadAllText(path))!["telemetry"]!;
        Assert.NotNull(telemetry["gpus"]![0]!["series"]!["power_w"]);
        Assert.NotNull(telemetry["gpus"]![0]!["series"]!["t_s"]);
    }

    [Fact]
    public void Without_NVML_the_result_says_so_and_reports_no_energy()
    {
        RunOutcome outcome = new BenchmarkRunner(FakeBackendProvider.Registry(), nvml: FakeNvml.Missing).Run(Request(Path.Combine(_dir, "none.json")));

        ResultDocument doc = outcome.Document;
        Assert.True(doc.Telemetry!.Enabled);
        Assert.Contains("libnvidia-ml.so.1", doc.Telemetry.GpuNote);
        Assert.Null(doc.Metrics.EnergyJ);
        Assert.Null(doc.Metrics.JoulesPerToken);
        Assert.NotNull(doc.Telemetry.Cpu);
        Assert.True(doc.Validity.Single(v => v.Name == "telemetry_alive").Passed);
        // It once exited 1 on a loaded machine: name the failed condition if it does again.
        Assert.True(outcome.ExitCode == ExitCodes.Ok, string.Join("; ", doc.Validity.Where(v => !v.Passed).Select(v => $"{v.Name}: {v.Detail}")));
    }

    [Fact]
    public void With_telemetry_off_the_result_says_so()
    {
        var nvml = FakeNvml.Loaded();
        ResultDocument doc = new BenchmarkRunner(FakeBackendProvider.Registry(), nvml: nvml)
            .Run(Request(Path.Combine(_dir, "off.json"), telemetry: TelemetryOptions.Off)).Document;

        Assert.False(doc.Telemetry!.Enabled);
        Assert.Contains("--no-telemetry", doc.Telemetry.Note);
        Assert.Null(doc.Metrics.EnergyJ);
        Assert.Equal(0, nvml.Reads);
    }

    [Fact]
    public void A_metrics_port_in_use_fails_before_the_run_with_exit_2_and_writes_nothing()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        string path = Path.Combine(_dir, "port.json");
        var registry = new CountingRegistry();

        HarnessException e = Assert.Throws<HarnessException>(() =>
            new BenchmarkRunner(registry.Registry, nvml: FakeNvml.Missing).Run(Request(path, metrics: new MetricsOptions { Listen = $"127.0.0.1:{port}" })));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal(0, registry.Created);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void An_unreachable_pushgateway_is_a_warning_the_result_is_still_written()
    {
        string path = Path.Combine(_dir, "push.json");
        var metrics = new MetricsOptions { Pushgateway = new Uri($"http://127.0.0.1:{FreePort.Get()}") };

        RunOutcome outcome = new BenchmarkRunner(FakeBackendProvider.Registry(), nvml: FakeNvml.Missing).Run(Request(path, metrics: metrics));

        Assert.True(File.Exists(path));
        Assert.Equal(ExitCodes.Ok, outcome.ExitCode);
        Assert.StartsWith("Pushgateway: ", Assert.Single(outcome.Warnings!));
    }

    [Fact]
    public void An_unreachable_pushgateway_fails_the_exit_code_only_when_the_push_is_required()
    {
        string path = Path.Combine(_dir, "required.json");
        var metrics = new MetricsOptions { Pushgateway = new Uri($"http://127.0.0.1:{FreePort.Get()}"), PushRequired = true, PushDelete = true };

        RunOutcome outcome = new BenchmarkRunner(FakeBackendProvider.Registry(), nvml: FakeNvml.Missing).Run(Request(path, metrics: metrics));

        Assert.True(File.Exists(path));
        Assert.True(outcome.Document.Valid);
        Assert.Equal(ExitCodes.Invalid, outcome.ExitCode);
        Assert.Equal(2, outcome.Warnings!.Count); // the delete before and the push after
    }

    private sealed class CountingRegistry
    {
        public CountingRegistry() => Registry = new BackendRegistry([new Provider(this)]);

        public BackendRegistry Registry { get; }

        public int Created { get; set; }

        private sealed class Provider(CountingRegistry owner) : IBackendProvider
        {
            private readonly FakeBackendProvider _inner = new();

            public string Runtime => _inner.Runtime;

            public IReadOnlyList<string> Devices => _inner.Devices;

            public IReadOnlyList<WorkloadInfo> Workloads => _inner.Workloads;

            public KeyValuePair<string, string?> PackageVersion => _inner.PackageVersion;

            public DoctorCheck CheckDevice(string device) => _inner.CheckDevice(device);

            public IReadOnlyList<DoctorCheck> Diagnose() => [];

            public IWorkload Create(string workload, BackendSpec backend, WorkloadOptions options)
            {
                owner.Created++;
                return _inner.Create(workload, backend, options);
            }
        }
    }
}
