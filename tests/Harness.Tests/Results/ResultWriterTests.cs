using Harness.Agents.Reporting;
using Harness.Agents.Scheduling;
using Harness.Agents.Tools;
using Harness.Backends;
using Harness.Decoding;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Results;
using Harness.Running;
using Harness.Testing;
using Harness.Tests.Agents;
using Harness.Tests.Fakes;

namespace Harness.Tests.Results;

/// <summary>
/// No measurement is lost to a write failure: a disk that fills (a real tmpfs, filled to the last
/// byte) or a folder that cannot be written makes the result go to a temporary folder, with the
/// cause in the system's words, and the run exit 1.
/// </summary>
public sealed class ResultWriterTests : IDisposable
{
    private readonly string _rescues = Directory.CreateTempSubdirectory("harness-rescue-root-").FullName;

    public void Dispose() => Directory.Delete(_rescues, recursive: true);

    [TmpfsFact]
    public void A_full_disk_rescues_the_result_to_the_temporary_folder_and_names_the_cause()
    {
        using var disk = new Tmpfs(kib: 64);
        string path = Path.Combine(disk.Path, "results", "run.json");
        ResultWriter.EnsureWritable(path); // an empty file still fits on a full disk: the check before measuring passes
        disk.Fill();

        WrittenResult written = ResultWriter.Write(path, new string('x', 64 * 1024), [_rescues]);

        Assert.True(written.Rescued);
        Assert.Equal("no space left on device", written.Cause);
        Assert.StartsWith(_rescues, written.Path, StringComparison.Ordinal);
        Assert.Equal(64 * 1024, File.ReadAllText(written.Path).Length);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(disk.Path, "*.tmp", SearchOption.AllDirectories)); // no half-written file left behind
        Assert.Equal($"could not write the result to {path}: no space left on device; it was saved to {written.Path} instead.", written.RescueMessage);
    }

    [UnwritableFolderFact]
    public void An_unwritable_folder_rescues_the_result_with_the_cause()
    {
        using var folder = new UnwritableFolder();
        string path = Path.Combine(folder.Path, "run.json");

        WrittenResult written = ResultWriter.Write(path, "{}", [_rescues]);

        Assert.Equal((true, folder.Cause), (written.Rescued, written.Cause));
        Assert.Equal("{}", File.ReadAllText(written.Path));
        Assert.Equal((Path.GetFileName(folder.Path), "run.json"), (Path.GetFileName(Path.GetDirectoryName(written.Path)), Path.GetFileName(written.Path)));
    }

    [UnwritableFolderFact]
    public void An_unwritable_folder_is_bad_input_before_measuring()
    {
        using var folder = new UnwritableFolder();

        HarnessException e = Assert.Throws<HarnessException>(() => ResultWriter.EnsureWritable(Path.Combine(folder.Path, "run.json")));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.EndsWith($": {folder.Cause}.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void When_no_folder_takes_the_result_the_error_says_every_cause_and_exits_1()
    {
        string blocker = Path.Combine(_rescues, "a-file");
        File.WriteAllText(blocker, "");

        HarnessException e = Assert.Throws<HarnessException>(() => ResultWriter.Write(Path.Combine(blocker, "run.json"), "{}", [Path.Combine(blocker, "tmp")]));

        Assert.Equal(ExitCodes.Invalid, e.ExitCode);
        Assert.StartsWith($"Could not write the result to {Path.Combine(blocker, "run.json")}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains($"nor a copy to the temporary folders ({Path.Combine(blocker, "tmp")}", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_written_result_is_where_it_was_asked_for()
    {
        string path = Path.Combine(_rescues, "ok", "run.json");

        WrittenResult written = ResultWriter.Write(path, "{}");

        Assert.Equal((path, false, null), (written.Path, written.Rescued, written.RescueMessage));
        Assert.Equal("{}", File.ReadAllText(path));
    }

    [TmpfsFact]
    public void A_run_whose_disk_fills_keeps_its_measurement_and_exits_1()
    {
        using var disk = new Tmpfs(kib: 64);
        string path = Path.Combine(disk.Path, "run.json");
        var runner = new BenchmarkRunner(FakeBackendProvider.Registry(), nvml: FakeNvml.Missing);
        var request = new RunRequest("sleep", BackendSpec.Parse("fake:cpu"), new WorkloadOptions(),
            new RunSettings { Scenario = ClosedLoopScenario.Single, Warmup = WarmupRule.None, Stop = new StopRules(TimeSpan.Zero, 50, TimeSpan.FromMinutes(1)) },
            path, disk.Path, Disturbance: SharedMachine.Limits);
        disk.Fill();

        RunOutcome outcome = runner.Run(request);

        try
        {
            Assert.True(outcome.Document.Valid);
            Assert.Equal(ExitCodes.Invalid, outcome.ExitCode);
            Assert.Contains("no space left on device", outcome.Rescue, StringComparison.Ordinal);
            Assert.Contains(outcome.Path, outcome.Rescue, StringComparison.Ordinal);
            Assert.Equal(50, ResultReader.ReadDocument(outcome.Path).Metrics.RequestsOk);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(outcome.Path)!, recursive: true);
        }
    }

    [TmpfsFact]
    public void A_sweep_whose_disk_fills_rescues_its_index_naming_each_file_where_it_is()
    {
        using var disk = new Tmpfs(kib: 64);
        string folder = Path.Combine(disk.Path, "sweep");
        RunRequest template = new("sleep", BackendSpec.Parse("fake:cpu"), new WorkloadOptions(),
            new RunSettings { Scenario = ClosedLoopScenario.Single, Warmup = WarmupRule.None, Stop = new StopRules(TimeSpan.Zero, 5, TimeSpan.FromMinutes(1)) },
            null, disk.Path, Disturbance: SharedMachine.Limits);
        var runner = new BenchmarkRunner(FakeBackendProvider.Registry(), nvml: FakeNvml.Missing);
        int points = 0;
        RunOutcome Run(RunRequest r)
        {
            if (++points == 2)
            {
                disk.Fill(); // the first point is on the disk; the second and the index are not
            }

            return runner.Run(r);
        }

        SweepOutcome outcome = SweepRunner.Run(template, SweepPlan.Repeats(ClosedLoopScenario.Single, 2), folder, Run);

        try
        {
            Assert.Equal(ExitCodes.Invalid, outcome.ExitCode);
            Assert.Contains("no space left on device", outcome.IndexRescue, StringComparison.Ordinal);
            Assert.EndsWith($"it was saved to {outcome.IndexPath} instead.", outcome.IndexRescue, StringComparison.Ordinal);
            SweepIndex rescued = SweepIndex.Read(Path.GetDirectoryName(outcome.IndexPath)!);
            Assert.Equal(Path.Combine(folder, "run-01.json"), rescued.Points[0].File);
            Assert.Equal("run-02.json", rescued.Points[1].File); // beside the rescued index
            Assert.All(rescued.Points, p => Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(outcome.IndexPath)!, p.File)), p.File));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(outcome.IndexPath)!, recursive: true);
        }
    }

    [TmpfsFact]
    public void An_agent_sweep_whose_disk_fills_rescues_its_files_naming_each_point_where_it_is()
    {
        using var disk = new Tmpfs(kib: 1024);
        string folder = Path.Combine(disk.Path, "agent-sweep");
        var request = new AgentSweepRequest
        {
            Profile = AgentTestProfiles.Fixed(agents: 2, maxBatch: 2),
            Options = new AgentSchedulerOptions { Agents = 2, Workers = 1, MaxBatch = 2 },
            Workers = [1, 2],
            Timing = new AgentRunTiming(TimeSpan.Zero, TimeSpan.FromSeconds(0.3)),
            Llm = new LlmChoice { Model = new LatencyModel { TtftMs = 1, TpotMs = 1 } },
            Output = new RunOutput(folder, Disturbance: SharedMachine.Limits),
            SimulationTiming = new AgentRunTiming(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)),
        };
        var sweep = new AgentSweep(() => new ToolSet([new SpinTool(ms: 1)]), new BackendRegistry([]), nvml: FakeNvml.Missing);

        // The first point and the document listing it are written; then the disk is full.
        AgentSweepOutcome outcome = sweep.Run(request, line =>
        {
            if (line.StartsWith("workers", StringComparison.Ordinal) && !File.Exists(Path.Combine(disk.Path, "fill")))
            {
                disk.Fill();
            }
        });

        string rescued = Path.GetDirectoryName(outcome.Written.Path)!;
        try
        {
            Assert.True(outcome.Rescued);
            Assert.Null(outcome.Points[0].Rescue);
            Assert.Contains("no space left on device", outcome.Points[1].Rescue, StringComparison.Ordinal);
            Assert.EndsWith($"it was saved to {outcome.Written.Path} instead.", outcome.Written.RescueMessage, StringComparison.Ordinal);
            Assert.Equal(2, outcome.Rescues.Count());
            AgentSweepDocument doc = AgentSweepJson.Read(outcome.Written.Path);
            Assert.Equal(Path.Combine(folder, "w1.json"), doc.Points[0].Result);
            Assert.Equal("w2.json", doc.Points[1].Result); // beside the rescued document
            Assert.All(doc.Points, p => Assert.True(File.Exists(Path.Combine(rescued, p.Result!)), p.Result));
        }
        finally
        {
            Directory.Delete(rescued, recursive: true);
        }
    }
}
