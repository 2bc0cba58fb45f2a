using System.Diagnostics;
using System.Text.RegularExpressions;
using Harness.Fleet;
using Harness.Testing;

namespace Harness.Cli.Tests.Commands;

/// <summary>
/// Runs alone, after the parallel tests: its cluster and its real runs would otherwise load the
/// machine under tests that time out or print progress on slow steps.
/// </summary>
[CollectionDefinition(nameof(RealSlurm), DisableParallelization = true)]
public sealed class RealSlurm;

/// <summary>
/// The fleet path end to end on a real one-node Slurm: submit an array job of real CPU runs of the
/// built harness, wait, collect, merge; then a job whose tasks fail, reported with exit code and log tail.
/// </summary>
[Collection(nameof(RealSlurm))]
public sealed class SlurmIntegrationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-slurm-it-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SlurmFact]
    public void A_suite_fans_out_over_a_real_slurm_and_merges_back()
    {
        IReadOnlyList<int> daemons;
        using (LocalSlurm cluster = LocalSlurm.Start())
        {
            daemons = cluster.DaemonPids();
            Assert.Equal(3, daemons.Count);
            IProcessRunner slurm = cluster.Runner;

            // Three tasks of real minilm runs on the CPU: a second each, one thread, enough requests for p90.
            string good = Path.Combine(_dir, "good");
            (int code, string stdout, string stderr) = CliRunner.RunWith(slurm,
                "slurm", "submit", "--nodes", "3", "--time", "5", "--results", good, "--",
                "minilm", "--duration", "1s", "--warmup-requests", "2", "--min-requests", "50", "--threads", "1", SharedMachine.AllowNoisy);
            Assert.True(code == 0, stderr);
            Assert.Contains("Submitted Slurm job", stdout, StringComparison.Ordinal);

            (code, stdout, stderr) = CliRunner.RunWith(slurm, "slurm", "collect", good, "--poll", "1s", "--timeout", "4m");
            Assert.True(code is 0 or 1, stderr);
            var layout = new FleetLayout(good);
            Assert.True(File.Exists(layout.SummaryPath));
            FleetSummary merged = FleetMerge.Merge(good);
            Assert.Equal(3, merged.Nodes.Count);
            Assert.All(merged.Nodes, n => Assert.True(n.Measured, $"task {n.Task}: {n.Status} {n.Reason} {string.Join(" / ", n.LogTail ?? [])}"));
            // Slurm names the node after the short hostname (slurmd -C).
            Assert.All(merged.Nodes, n => Assert.Equal(Environment.MachineName.Split('.')[0], n.Name, ignoreCase: true));
            Assert.All(merged.Nodes, n => Assert.True(n.ExitCode == 0, $"task {n.Task}: exit {n.ExitCode}, valid {n.Valid}, {n.Reason}: {string.Join(" / ", n.LogTail ?? [])}"));
            Assert.Equal("minilm", merged.Suite!.Workload);
            Assert.Equal(merged.Nodes.Sum(n => n.ThroughputPerS!.Value), merged.Aggregate.ThroughputPerS, 6);
            // Three one-thread tasks share the machine: on fewer than four cores they disturb each other, are listed
            // as noisy (allowed) and left out of the spread; on a bigger quiet machine all three make the spread.
            int quiet = merged.Nodes.Count(n => n.Disturbance is null);
            // Whatever the cause (other processes, steal, the CPU clock, pressure), a disturbed task is listed as NOISY (allowed).
            Assert.Equal(3 - quiet, Regex.Matches(stdout, @"NOISY \(allowed\): ").Count);
            if (quiet > 0)
            {
                Assert.Contains($"| throughput_per_s | {quiet} |", stdout, StringComparison.Ordinal);
            }

            (code, stdout, _) = CliRunner.RunWith(slurm, "slurm", "status", good);
            Assert.Equal(0, code);
            Assert.Contains("3 completed", stdout, StringComparison.Ordinal);

            // Two tasks that cannot run (no CUDA here): failed, with the exit code and the harness's own sentence.
            string bad = Path.Combine(_dir, "bad");
            (code, _, stderr) = CliRunner.RunWith(slurm, "slurm", "submit", "--nodes", "2", "--results", bad, "--", "minilm", "--backend", "onnx:cuda");
            Assert.True(code == 0, stderr);
            (code, stdout, _) = CliRunner.RunWith(slurm, "slurm", "collect", bad, "--poll", "1s", "--timeout", "4m");
            Assert.Equal(ExitCodes.Invalid, code);
            FleetSummary failed = FleetMerge.Merge(bad);
            Assert.All(failed.Nodes, n =>
            {
                Assert.Equal(NodeStatus.Failed, n.Status);
                Assert.Equal(ExitCodes.BadInput, n.ExitCode);
                Assert.Contains(n.LogTail!, l => l.Contains("is not usable here", StringComparison.Ordinal));
            });
            Assert.Contains("exited with exit code 2", stdout, StringComparison.Ordinal);
        }

        // Nothing is left running.
        Assert.All(daemons, pid => Assert.False(IsRunning(pid), $"daemon {pid} still runs"));
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using Process p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
