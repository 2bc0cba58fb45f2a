using BenchmarkDotNet.Attributes;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Results;

namespace Harness.Benchmarks.Results;

/// <summary>
/// Turning a finished run of about 10k requests into its result file: validity, statistics, the
/// document, JSON, and the atomic write (temp file, fsync, rename) into a temporary folder.
/// </summary>
public class ResultWriteBenchmarks
{
    public const int Samples = 10_000;

    private EngineResult _run = null!;
    private HardwareFingerprint _hardware = null!;
    private DirectoryInfo _dir = null!;
    private string _path = "";

    [GlobalSetup]
    public void GlobalSetup()
    {
        long f = StopwatchClock.Instance.Frequency;
        var latency = new SampleRecorder(f);
        long window = 0;
        foreach (long t in SyntheticLatencies.Ticks(Samples, f, seed: 7))
        {
            latency.Record(t);
            window += t;
        }

        var details = new Dictionary<string, object?>
        {
            ["execution_provider"] = "CPUExecutionProvider",
            ["model"] = "ResNet18.onnx",
            ["inputs"] = new Dictionary<string, string> { ["Input247"] = "1x3x224x224" },
        };
        _run = new EngineResult
        {
            Workload = new WorkloadDescription("samples", 1, 1, details),
            Settings = new RunSettings { Scenario = ClosedLoopScenario.Single },
            StartedUtc = new DateTime(2026, 11, 26, 0, 0, 0, DateTimeKind.Utc),
            WindowStart = 0,
            WindowEnd = window,
            Frequency = f,
            WallWindow = TimeSpan.FromSeconds((double)window / f),
            MonotonicWindow = window,
            StopReason = StopReason.Completed,
            WarmupRequests = 250,
            Latency = latency,
            TimeToFirstToken = new SampleRecorder(f),
            TimePerOutputToken = new SampleRecorder(f),
            InterTokenLatency = new SampleRecorder(f),
            Outcomes = new RequestCounts(Ok: Samples, Error: 0, Timeout: 0, Cancelled: 0),
            InputUnits = Samples,
            OutputUnits = Samples,
            Errors = new ErrorLog(),
        };
        _hardware = HardwareProbe.Probe(new Dictionary<string, string?> { ["Microsoft.ML.OnnxRuntime"] = "1.31.0" });
        _dir = Directory.CreateTempSubdirectory("harness-bench-");
        _path = Path.Combine(_dir.FullName, "result.json");
    }

    [GlobalCleanup]
    public void GlobalCleanup() => _dir.Delete(recursive: true);

    /// <summary>Everything but the disk: ResultBuilder.Build and ResultJson.Serialize.</summary>
    [Benchmark]
    public int BuildAndSerialize() => ResultJson.Serialize(ResultBuilder.Build(_run, "resnet18", "onnx:cpu", _hardware)).Length;

    /// <summary>The whole result write, as the runner does it: build, serialize, AtomicFile.WriteAllText.</summary>
    [Benchmark]
    public void WriteResult() =>
        AtomicFile.WriteAllText(_path, ResultJson.Serialize(ResultBuilder.Build(_run, "resnet18", "onnx:cpu", _hardware)));
}
