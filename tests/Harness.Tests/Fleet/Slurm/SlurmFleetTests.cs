using Harness.Fleet;
using Harness.Fleet.Slurm;
using Harness.Testing;

namespace Harness.Tests.Fleet.Slurm;

/// <summary>Submit and collect against a fake Slurm: what gets written, what gets asked, when it stops waiting.</summary>
public sealed class SlurmFleetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-slurm-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private SlurmJobSpec Spec(string name = "run") => new()
    {
        Nodes = 3,
        ResultsDir = Path.Combine(_dir, name),
        Command = new FleetCommandLine(["harness"], ["minilm", "--duration", "5s"]),
    };

    [Fact]
    public void Submit_writes_the_script_then_records_the_job()
    {
        var runner = new FakeProcessRunner("sbatch") { Answer = (_, _) => new ProcessResult(0, "31\n", "") };

        FleetManifest manifest = SlurmFleet.Submit(Spec(), runner);

        var layout = new FleetLayout(Path.Combine(_dir, "run"));
        Assert.Equal(("31", 3), (manifest.JobId, manifest.Tasks));
        Assert.Equal(["--parsable", layout.ScriptPath], runner.Calls.Single().Args);
        Assert.Equal(SbatchScript.Render(Spec()), File.ReadAllText(layout.ScriptPath));
        Assert.Equal("31", FleetManifest.TryRead(layout)!.JobId);
        Assert.True(Directory.Exists(layout.LogsDir), "Slurm does not create the --output folder itself");
    }

    [Fact]
    public void A_refused_submission_leaves_no_folder_behind()
    {
        var runner = new FakeProcessRunner("sbatch") { Answer = (_, _) => new ProcessResult(1, "", "sbatch: error: no partition") };

        Assert.Throws<HarnessException>(() => SlurmFleet.Submit(Spec(), runner));

        Assert.False(Directory.Exists(Path.Combine(_dir, "run")));
    }

    [Fact]
    public void A_folder_that_holds_a_fleet_run_is_not_reused()
    {
        var runner = new FakeProcessRunner("sbatch") { Answer = (_, _) => new ProcessResult(0, "31\n", "") };
        SlurmFleet.Submit(Spec(), runner);

        var e = Assert.Throws<HarnessException>(() => SlurmFleet.Submit(Spec(), runner));

        Assert.Contains("already holds a fleet run", e.Message, StringComparison.Ordinal);
        Assert.Single(runner.Calls);
    }

    [Fact]
    public void Without_sbatch_nothing_is_written()
    {
        Assert.Throws<HarnessException>(() => SlurmFleet.Submit(Spec(), new FakeProcessRunner()));

        Assert.False(Directory.Exists(Path.Combine(_dir, "run")));
    }

    [Fact]
    public void Collect_waits_while_tasks_run_then_merges_with_the_schedulers_word()
    {
        var layout = new FleetLayout(Path.Combine(_dir, "run"));
        layout.Create();
        new FleetManifest { JobId = "31", Tasks = 3, Nodes = 3 }.Write(layout.ManifestPath);
        int polls = 0;
        var runner = new FakeProcessRunner("squeue")
        {
            // First look: tasks 0 and 1 still run. Second: 0 completed, 1 timed out, 2 was cancelled.
            Answer = (_, _) => new ProcessResult(0, polls == 0
                ? "31_0|RUNNING|n0|None\n31_1|RUNNING|n1|None\n31_2|PENDING||Resources\n"
                : "31_0|COMPLETED|n0|None\n31_1|TIMEOUT|n1|None\n31_2|CANCELLED||None\n", ""),
        };
        bool Sleep(TimeSpan wait, CancellationToken ct)
        {
            polls++;
            File.WriteAllText(layout.ResultPath(0), Harness.Results.ResultJson.Serialize(FleetFolder.Result(host: "n0")));
            File.WriteAllText(layout.StatusPath(0), "{\"task\": 0, \"tasks\": 3, \"exit_code\": 0, \"node\": \"n0\"}");
            return true;
        }

        var progress = new StringWriter();
        CollectOutcome outcome = new SlurmCollector(runner, Sleep).Collect(layout.Root, new CollectOptions(), progress);

        Assert.False(outcome.StoppedWaiting);
        Assert.Equal(1, polls);
        Assert.Contains("0 of 3 tasks finished, 3 pending or running", progress.ToString(), StringComparison.Ordinal);
        FleetSummary s = outcome.Summary;
        Assert.Equal(NodeStatus.Ok, s.Nodes[0].Status);
        Assert.Contains("TIMEOUT on n1", s.Nodes[1].Reason, StringComparison.Ordinal);
        Assert.Contains("CANCELLED", s.Nodes[2].Reason, StringComparison.Ordinal);
        Assert.Equal("31", s.JobId);
    }

    [Fact]
    public void Collect_stops_waiting_at_its_timeout_and_says_so()
    {
        var layout = new FleetLayout(Path.Combine(_dir, "run"));
        layout.Create();
        new FleetManifest { JobId = "31", Tasks = 2, Nodes = 2 }.Write(layout.ManifestPath);
        var runner = new FakeProcessRunner("squeue") { Answer = (_, _) => new ProcessResult(0, "31_[0-1]|PENDING||Priority\n", "") };

        CollectOutcome outcome = new SlurmCollector(runner, (_, _) => true).Collect(layout.Root, new CollectOptions { Timeout = TimeSpan.Zero });

        Assert.True(outcome.StoppedWaiting);
        Assert.All(outcome.Summary.Nodes, n => Assert.Contains("PENDING", n.Reason, StringComparison.Ordinal));
        Assert.Contains(outcome.Summary.Notes, n => n.Contains("stopped waiting", StringComparison.Ordinal));
    }

    [Fact]
    public void Collect_needs_a_submitted_folder()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "plain"));

        var e = Assert.Throws<HarnessException>(() => new SlurmCollector(new FakeProcessRunner("squeue")).Collect(Path.Combine(_dir, "plain"), new CollectOptions()));

        Assert.Contains("harness merge", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_lists_every_task_with_its_state_and_exit_record()
    {
        var layout = new FleetLayout(Path.Combine(_dir, "run"));
        layout.Create();
        File.WriteAllText(layout.StatusPath(1), "{\"task\": 1, \"exit_code\": 2, \"node\": \"n1\"}");

        string table = SlurmFleet.RenderStatus("31", [new SchedulerTaskState(0, "RUNNING", "n0", "None", "squeue"), new SchedulerTaskState(1, "FAILED", "n1", "exit 2:0", "sacct")], layout, 3);

        Assert.Contains("1 failed, 1 running", table, StringComparison.Ordinal);
        Assert.Contains("| 1 | FAILED | n1 | exit 2:0 | 2 | no |", table, StringComparison.Ordinal);
        Assert.Contains("| 2 | - |  |  |  | no |", table, StringComparison.Ordinal);
    }
}
