using System.Diagnostics;
using System.Globalization;
using Harness.Backends;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Hardware;
using Harness.Results;
using Harness.Running;

namespace Harness.Telemetry.Benchmarks;

/// <summary>
/// The check on a real GPU: idle power, then a GEMM run (power above idle, energy counter rising),
/// then a decode-shaped run whose J/token the result reports. The GPU work is PyTorch's, driven one
/// step per request over a pipe (gpu_steps.py), because this core has no CUDA of its own.
/// </summary>
public static class GpuCheck
{
    public static int Run(string python, string outDir, TimeSpan duration)
    {
        Directory.CreateDirectory(outDir);
        using var nvml = new NvmlLibrary();
        if (!nvml.Available || nvml.ListGpus().Count == 0)
        {
            Console.WriteLine($"no GPU: {nvml.UnavailableReason ?? "NVML reports no GPU"}");
            return 1;
        }

        GpuReading r0 = nvml.ReadGpu(0);
        Console.WriteLine($"GPU 0: {nvml.ListGpus()[0].Name}, first reading: {Describe(r0)}");
        Thread.Sleep(1000);
        GpuReading r1 = nvml.ReadGpu(0);
        Console.WriteLine($"idle: {Describe(r1)}; counter +{(double)(r1.EnergyMj - r0.EnergyMj ?? 0) / 1000:0.###} J in 1 s");

        var registry = new BackendRegistry([new PipeBackendProvider(python)]);
        var runner = new BenchmarkRunner(registry, nvml: nvml);
        ResultDocument gemm = Measure(runner, "gemm", outDir, TimeSpan.FromSeconds(Math.Max(3, duration.TotalSeconds / 2)));
        ResultDocument decode = Measure(runner, "decode", outDir, duration);

        double idleW = r1.PowerW ?? 0;
        GpuTelemetry g = gemm.Telemetry!.Gpus[0];
        bool powerAboveIdle = g.PowerAvgW > idleW + 20;
        bool counterRose = gemm.Telemetry.Energy is { Method: "counter", EnergyJ: > 0 };
        bool decodeJPerToken = decode.Metrics.JoulesPerToken is > 0;
        Console.WriteLine($"check: gemm power {g.PowerAvgW:0.#} W vs idle {idleW:0.#} W -> {(powerAboveIdle ? "above idle" : "NOT above idle")}");
        Console.WriteLine($"check: gemm energy counter delta {gemm.Telemetry.Energy?.EnergyJ:0.###} J ({gemm.Telemetry.Energy?.Method}) -> {(counterRose ? "rising" : "NOT rising")}");
        Console.WriteLine($"check: decode {decode.Metrics.JoulesPerToken:0.#####} J/token, {decode.Metrics.ThroughputPerS:0.#} tokens/s, {decode.Metrics.AvgPowerW:0.#} W -> {(decodeJPerToken ? "reported" : "NOT reported")}");
        return powerAboveIdle && counterRose && decodeJPerToken ? 0 : 1;
    }

    private static ResultDocument Measure(BenchmarkRunner runner, string workload, string outDir, TimeSpan duration)
    {
        var request = new RunRequest(
            workload,
            BackendSpec.Parse("pipe:cuda"),
            new WorkloadOptions(),
            new RunSettings
            {
                Scenario = ClosedLoopScenario.Single,
                Warmup = WarmupRule.ForDuration(TimeSpan.FromSeconds(2)),
                Stop = new StopRules(duration, 10, duration * 3),
            },
            Path.Combine(outDir, $"gpu-check-{workload}.json"));
        RunOutcome outcome = runner.Run(request);
        Console.WriteLine(MarkdownSummary.Render(outcome.Document, outcome.Path));
        return outcome.Document;
    }

    private static string Describe(GpuReading r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.PowerW:0.#} W, energy counter {r.EnergyMj} mJ, util {r.Utilization:P0}, SM {r.SmClockMhz} MHz, mem {r.MemoryClockMhz} MHz, {r.TemperatureC} C, reasons 0x{r.ClockEventReasons:x}");

    /// <summary>Backend "pipe:cuda": workloads gemm and decode, each request one step of gpu_steps.py.</summary>
    private sealed class PipeBackendProvider(string python) : IBackendProvider
    {
        public string Runtime => "pipe";

        public IReadOnlyList<string> Devices => ["cuda"];

        public IReadOnlyList<WorkloadInfo> Workloads => [new("gemm", "10 bf16 8192^3 products per request"), new("decode", "8 sequences x 32 layers of 8192x8192 bf16 per request")];

        public KeyValuePair<string, string?> PackageVersion => new("torch (python)", null);

        public DoctorCheck CheckDevice(string device) => new(device, true, "");

        public IReadOnlyList<DoctorCheck> Diagnose() => [];

        public IWorkload Create(string workload, BackendSpec backend, WorkloadOptions options) => workload == "gemm"
            ? new PipeWorkload(python, ["gemm", "8192", "10"], "samples", 1)
            : new PipeWorkload(python, ["decode", "32", "8192", "8"], "tokens", 8);
    }

    private sealed class PipeWorkload(string python, string[] args, string unit, int unitsPerStep) : IWorkload
    {
        private Process? _process;

        public WorkloadDescription Prepare(WorkloadContext context)
        {
            var info = new ProcessStartInfo(python) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "gpu_steps.py"));
            foreach (string a in args)
            {
                info.ArgumentList.Add(a);
            }

            _process = Process.Start(info)!;
            string? ready = _process.StandardOutput.ReadLine();
            if (ready != "ready")
            {
                throw new InvalidOperationException($"gpu_steps.py did not start: {ready}");
            }

            return new WorkloadDescription(unit, unitsPerStep, unitsPerStep, new Dictionary<string, object?> { ["gpu_steps"] = string.Join(' ', args) });
        }

        public void Execute(RequestContext request)
        {
            _process!.StandardInput.WriteLine("step");
            _process.StandardInput.Flush();
            if (_process.StandardOutput.ReadLine() != "ok")
            {
                throw new InvalidOperationException("gpu_steps.py failed");
            }

            request.MarkToken(unitsPerStep);
        }

        public void Dispose()
        {
            if (_process is { HasExited: false })
            {
                _process.StandardInput.Close();
                _process.WaitForExit(10_000);
            }

            _process?.Dispose();
        }
    }
}
