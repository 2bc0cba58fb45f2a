using System.Runtime.CompilerServices;
using Harness.Fleet;
using Harness.Fleet.Slurm;

namespace Harness.Tests.Fleet;

public sealed class SbatchScriptTests : IDisposable
{
    private readonly ShellRunner _shell = new();

    public void Dispose() => _shell.Dispose();

    private static SlurmJobSpec Spec(int nodes = 4, int? gpus = null, TaskGranularity per = TaskGranularity.Node, string results = "/shared/fleet/run1", IReadOnlyList<string>? harness = null) => new()
    {
        Nodes = nodes,
        GpusPerNode = gpus,
        Per = per,
        Partition = "gpu",
        TimeLimit = "30:00",
        ResultsDir = results,
        Command = new FleetCommandLine(harness ?? ["/opt/dotnet/dotnet", "/opt/harness/harness.dll"], ["minilm", "--duration", "60s", "--set", "label=it's $(whoami)"]),
    };

    private static string Golden(string name, [CallerFilePath] string source = "") =>
        File.ReadAllText(Path.Combine(Path.GetDirectoryName(source)!, "Golden", name));

    private static string[] Directives(string script) => script.Split('\n').Where(l => l.StartsWith("#SBATCH", StringComparison.Ordinal)).ToArray();

    [Fact]
    public void One_task_per_node_matches_the_golden_script()
    {
        Assert.Equal(Golden("sbatch-per-node.sh"), SbatchScript.Render(Spec()));
    }

    [Fact]
    public void One_task_per_gpu_asks_for_one_gpu_per_task_and_nodes_times_gpus_tasks()
    {
        string[] d = Directives(SbatchScript.Render(Spec(nodes: 2, gpus: 8, per: TaskGranularity.Gpu)));

        Assert.Contains("#SBATCH --array=0-15", d);
        Assert.Contains("#SBATCH --gpus=1", d);
        Assert.DoesNotContain("#SBATCH --exclusive", d);
    }

    [Fact]
    public void One_task_per_gpu_node_holds_the_whole_node_and_its_gpus()
    {
        string[] d = Directives(SbatchScript.Render(Spec(nodes: 3, gpus: 4, per: TaskGranularity.Node)));

        Assert.Contains("#SBATCH --array=0-2", d);
        Assert.Contains("#SBATCH --exclusive", d);
        Assert.Contains("#SBATCH --gpus-per-node=4", d);
        Assert.Contains("#SBATCH --output=/shared/fleet/run1/logs/task-%a.out", d);
        Assert.Contains("#SBATCH --error=/shared/fleet/run1/logs/task-%a.err", d);
    }

    [Fact]
    public void The_script_runs_under_bash_as_an_array_task_and_records_its_exit()
    {
        string results = Path.Combine(_shell.Dir, "fleet");
        string script = Path.Combine(_shell.Dir, "fleet.sbatch");
        File.WriteAllText(script, SbatchScript.Render(Spec(results: results, harness: _shell.HarnessCommand)));
        var env = new Dictionary<string, string>
        {
            ["SLURM_ARRAY_TASK_ID"] = "1",
            ["SLURM_ARRAY_JOB_ID"] = "4242",
            ["SLURM_ARRAY_TASK_COUNT"] = "4",
            ["SLURMD_NODENAME"] = "node-b",
            ["SLURM_JOB_GPUS"] = "1",
            ["FAKE_EXIT"] = "1",
        };

        (int code, _, _) = _shell.Run("/bin/bash", [script], env);

        Assert.Equal(1, code);
        Assert.Equal(["run", "minilm", "--duration", "60s", "--set", "label=it's $(whoami)", "--out", Path.Combine(results, "results", "task-1.json")], _shell.RecordedArgv);
        TaskExitRecord record = TaskExitRecord.TryRead(Path.Combine(results, "status", "task-1.json"), out _)!;
        Assert.Equal((1, 4, 1, "node-b", "1", "4242"), (record.Task, record.Tasks, record.ExitCode, record.Node, record.Gpus, record.JobId));
    }

    public static TheoryData<SlurmJobSpec, string> BadSpecs => new()
    {
        { Spec() with { Nodes = 0 }, "--nodes must be at least 1" },
        { Spec() with { GpusPerNode = 0 }, "--gpus-per-node must be at least 1" },
        { Spec() with { Per = TaskGranularity.Gpu }, "--per gpu needs --gpus-per-node" },
        { Spec() with { Partition = "gpu\n#SBATCH --uid=0" }, "is not a Slurm partition name" },
        { Spec() with { TimeLimit = "an hour" }, "is not a Slurm time limit" },
        { Spec() with { JobName = "my job" }, "--job-name" },
        { Spec() with { ResultsDir = "relative/dir" }, "must be an absolute path" },
        { Spec() with { ResultsDir = "/shared/my results" }, "cannot carry" },
        { Spec() with { ResultsDir = "/shared/100%" }, "cannot carry" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void Values_that_would_break_an_SBATCH_line_are_refused(SlurmJobSpec spec, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => SbatchScript.Render(spec));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], "starting with the workload")]
    [InlineData(new[] { "--duration", "1s" }, "starting with the workload")]
    [InlineData(new[] { "minilm", "--out", "x.json" }, "Remove '--out'")]
    [InlineData(new[] { "minilm", "-o", "x.json" }, "Remove '-o'")]
    [InlineData(new[] { "minilm", "--out=x.json" }, "Remove '--out=x.json'")]
    public void Run_arguments_must_name_a_workload_and_leave_the_output_to_the_fleet(string[] args, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => new FleetCommandLine(["harness"], args));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_leading_run_is_accepted_and_dropped()
    {
        Assert.Equal(["harness", "run", "minilm"], new FleetCommandLine(["harness"], ["run", "minilm"]).Argv);
    }
}
