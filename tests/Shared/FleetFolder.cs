using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Harness.Fleet;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Results;
using Harness.Validity;

namespace Harness.Testing;

/// <summary>
/// A fleet results folder in a temporary directory, filled with planted results, exit records and logs,
/// for the fleet tests of the core and the CLI (linked into both test projects).
/// </summary>
internal sealed class FleetFolder : IDisposable
{
    public FleetFolder()
    {
        Root = Directory.CreateTempSubdirectory("harness-fleet-").FullName;
        Layout = new FleetLayout(Root);
        Layout.Create();
    }

    public string Root { get; }

    public FleetLayout Layout { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);

    /// <summary>A result as a node would write it; latencies are spread around p50 so that the samples are realistic.</summary>
    public static ResultDocument Result(
        double throughput = 100,
        double p50 = 10,
        double p99 = 20,
        bool valid = true,
        string host = "node",
        string workload = "minilm",
        string backend = "onnx:cpu",
        int batch = 1,
        bool cancelled = false,
        int samples = 50,
        IReadOnlyList<string>? cpuFeatures = null)
    {
        double[] latencies = Enumerable.Range(0, samples).Select(i => p50 + (p99 - p50) * i / Math.Max(1, samples - 1)).ToArray();
        return new ResultDocument
        {
            HarnessVersion = "test",
            Workload = workload,
            Backend = backend,
            Scenario = "single",
            StartedUtc = new DateTime(2026, 11, 26, 0, 0, 0, DateTimeKind.Utc),
            Valid = valid,
            Cancelled = cancelled,
            StopReason = cancelled ? "cancelled" : "completed",
            Validity = [new ValidityCondition("min_requests", valid, valid ? "enough" : "12 ok requests, 100 needed")],
            Config = new Dictionary<string, object?>
            {
                ["scenario"] = "single",
                ["batch"] = batch,
                ["command_line"] = $"harness run {workload} --out results/task-{host}.json",
                ["clock_frequency_hz"] = 1_000_000_000,
            },
            Hardware = new HardwareFingerprint
            {
                Cpu = new CpuInfo("Test CPU", 2, cpuFeatures ?? []),
                MemoryBytes = 1L << 34,
                Os = "Linux",
                Kernel = "6.1",
                Glibc = "2.36",
                Dotnet = "10.0",
                Hostname = host,
                Packages = new Dictionary<string, string?>(),
                Gpus = backend.Contains("cuda", StringComparison.Ordinal)
                    ? [new GpuInfo(0, "NVIDIA H100", "GPU-aaaa", "580", 80L << 30, 700), new GpuInfo(1, "NVIDIA H100", "GPU-bbbb", "580", 80L << 30, 700)]
                    : [],
            },
            Metrics = new ResultMetrics
            {
                RequestsOk = samples,
                DurationS = samples / throughput,
                ThroughputPerS = throughput,
                RequestsPerS = throughput,
                OutputUnits = samples,
                LatencyMs = new DistributionSummary { Count = samples, P50 = p50, P90 = p99, P95 = p99, P99 = p99, P999 = p99, Mean = p50, Min = p50, Max = p99 },
            },
            Samples = new ResultSamples { LatencyMs = latencies, Stride = 1 },
        };
    }

    public string WriteResult(int task, ResultDocument doc, Action<JsonObject>? edit = null)
    {
        string path = Layout.ResultPath(task);
        WriteJson(path, ResultJson.Serialize(doc), edit);
        return path;
    }

    public static void WriteJson(string path, string json, Action<JsonObject>? edit = null)
    {
        if (edit is not null)
        {
            var node = (JsonObject)JsonNode.Parse(json)!;
            edit(node);
            json = node.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json);
    }

    public void WriteExit(int task, int exitCode, string node = "node", int tasks = 0, string gpus = "")
    {
        File.WriteAllText(Layout.StatusPath(task), string.Create(CultureInfo.InvariantCulture,
            $"{{\"task\": {task}, \"tasks\": {tasks}, \"exit_code\": {exitCode}, \"node\": \"{node}\", \"hostname\": \"{node}\", \"gpus\": \"{gpus}\", \"job_id\": \"77\", \"started_utc\": \"2026-11-26T00:00:00Z\", \"ended_utc\": \"2026-11-26T00:01:00Z\"}}\n"));
    }

    public void WriteLog(int task, string stderr, string stdout = "")
    {
        File.WriteAllText(Layout.StderrPath(task), stderr);
        File.WriteAllText(Layout.StdoutPath(task), stdout);
    }

    public void WriteManifest(int tasks) =>
        new FleetManifest { JobId = "77", JobName = "harness-fleet", Tasks = tasks, Nodes = tasks, SubmittedUtc = DateTime.UtcNow }.Write(Layout.ManifestPath);

    /// <summary>A healthy fleet of <paramref name="count"/> nodes with a little spread, each with its exit record.</summary>
    public void WriteHealthyFleet(int count, double throughput = 100)
    {
        for (int i = 0; i < count; i++)
        {
            double wobble = (i % 3 - 1) * 0.5; // -0.5, 0, +0.5
            WriteResult(i, Result(throughput + wobble, 10 + wobble / 10, 20 + wobble / 5, host: $"n{i}"));
            WriteExit(i, 0, $"n{i}", count);
        }
    }
}
