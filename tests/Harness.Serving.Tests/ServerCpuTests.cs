using Harness.Cli;
using Harness.Metrics;
using Harness.Results;
using Harness.Telemetry;

namespace Harness.Serving.Tests;

/// <summary>
/// Issue 24 end to end: <c>run generate -b openai:URL</c> against <c>harness serve</c> in a child
/// process finds the server from its loopback port, reads its CPU beside the run's, reports it per
/// output token, and does not count it among the other processes.
/// </summary>
public class ServerCpuTests
{
    [Fact]
    public async Task A_run_against_a_local_server_reports_its_cpu_and_quiet_host_does_not_count_it()
    {
        using ChildServer server = await ChildServer.StartAsync(
            "--backend", "onnx:cpu", "--model-config", "tiny-gpt2-test", "--threads", "1");
        string dir = Directory.CreateTempSubdirectory("harness-server-cpu-").FullName;
        try
        {
            string path = Path.Combine(dir, "r.json");
            long before = Ticks(server.Pid);
            var output = new StringWriter();
            var error = new StringWriter();
            int code = HarnessCli.Invoke(
                [
                    "run", "generate", "--backend", $"openai:{server.Address}v1", "--dataset", "synthetic:in=16,out=8",
                    "--scenario", "concurrency:2", "--duration", "3s", "--warmup", "1s", "--min-requests", "5", "--tail", "p50",
                    "--allow-noisy", "--out", path,
                ],
                output,
                error);
            long after = Ticks(server.Pid);

            Assert.True(File.Exists(path), $"exit {code}: {error}\n{output}");
            ResultDocument doc = ResultReader.ReadDocument(path);
            ServerProcessTelemetry s = doc.Telemetry!.Server!;
            Assert.Equal([server.Pid], s.Pids);
            Assert.Equal($"listens on port {server.Address.Port}", s.How);
            Assert.Null(s.Note);

            // The window's CPU is within what /proc says the server used over the whole run (warm-up and connection included).
            Assert.InRange(s.CpuS!.Value, 0.001, (after - before) / 100.0 + 0.02);
            Assert.True(s.RssPeakBytes > 10 << 20, $"peak RSS {s.RssPeakBytes}");
            Assert.Equal(s.CpuS!.Value / doc.Metrics.OutputUnits, doc.Metrics.Value(MetricCatalog.ServerCpuSPerToken)!.Value, 9);
            Assert.Equal(s.CpuCores, doc.Metrics.Value(MetricCatalog.ServerCpuCores));
            Assert.NotNull(doc.Telemetry.Disturbance!.ServerProcessCores);
            Assert.Contains($"Server under test (PID {server.Pid} ", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>utime + stime of a process in clock ticks (USER_HZ, 100 on Linux).</summary>
    private static long Ticks(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var c = System.Globalization.CultureInfo.InvariantCulture;
        return long.Parse(f[11], c) + long.Parse(f[12], c);
    }
}
