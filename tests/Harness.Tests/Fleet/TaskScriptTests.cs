using Harness.Fleet;

namespace Harness.Tests.Fleet;

/// <summary>The task body under a real POSIX shell, as a Kubernetes pod runs it (sh -c BODY name "$@").</summary>
public sealed class TaskScriptTests : IDisposable
{
    private readonly ShellRunner _shell = new();

    public void Dispose() => _shell.Dispose();

    private string Root => Path.Combine(_shell.Dir, "fleet");

    private (int Code, string Out, string Err) RunPod(IReadOnlyList<string> runArguments, Dictionary<string, string> env) =>
        _shell.Run("/bin/sh", ["-c", TaskScript.Body(TaskEnvironment.Kubernetes, Root), "harness-task", .. _shell.HarnessCommand, "run", .. runArguments], env);

    [Fact]
    public void The_command_gets_its_arguments_verbatim_plus_its_own_out_file()
    {
        string[] hostile = ["minilm", "--set", "x=$(touch pwned)", "it's", "a b", "`touch pwned2`;"];

        (int code, _, _) = RunPod(hostile, new() { ["JOB_COMPLETION_INDEX"] = "3" });

        Assert.Equal(0, code);
        Assert.Equal(["run", .. hostile, "--out", Path.Combine(Root, "results", "task-3.json")], _shell.RecordedArgv);
        Assert.False(File.Exists(Path.Combine(_shell.Dir, "pwned")));
        Assert.False(File.Exists(Path.Combine(_shell.Dir, "pwned2")));
        Assert.True(File.Exists(Path.Combine(Root, "results", "task-3.json")));
    }

    [Fact]
    public void The_exit_record_holds_the_exit_code_node_and_fleet_size_and_the_script_exits_with_it()
    {
        var env = new Dictionary<string, string>
        {
            ["JOB_COMPLETION_INDEX"] = "5",
            ["NODE_NAME"] = "gpu-node-7",
            ["HARNESS_FLEET_TASKS"] = "8",
            ["HARNESS_JOB_NAME"] = "bench",
            ["NVIDIA_VISIBLE_DEVICES"] = "GPU-1234",
            ["FAKE_EXIT"] = "3",
        };

        (int code, string stdout, string stderr) = RunPod(["minilm"], env);

        Assert.Equal(3, code);
        TaskExitRecord record = TaskExitRecord.TryRead(Path.Combine(Root, "status", "task-5.json"), out string? problem)!;
        Assert.Null(problem);
        Assert.Equal((5, 8, 3, "gpu-node-7", "GPU-1234", "bench"), (record.Task, record.Tasks, record.ExitCode, record.Node, record.Gpus, record.JobId));
        Assert.NotNull(record.StartedUtc);
        Assert.False(string.IsNullOrEmpty(record.Hostname));
        // Kubernetes keeps no files of its own: the logs go to the volume and to the pod's log.
        Assert.Equal("fake harness says hello\n", File.ReadAllText(Path.Combine(Root, "logs", "task-5.out")));
        Assert.Equal("fake harness complains\n", File.ReadAllText(Path.Combine(Root, "logs", "task-5.err")));
        Assert.Contains("fake harness says hello", stdout, StringComparison.Ordinal);
        Assert.Contains("fake harness complains", stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.Combine(Root, "status"), "*.tmp*"));
    }

    [Fact]
    public void Names_with_quotes_cannot_break_the_exit_records_json()
    {
        (int code, _, _) = RunPod(["minilm"], new() { ["JOB_COMPLETION_INDEX"] = "0", ["NODE_NAME"] = "evil\",\"exit_code\": 0, \"x\\" });

        Assert.Equal(0, code);
        TaskExitRecord record = TaskExitRecord.TryRead(Path.Combine(Root, "status", "task-0.json"), out string? problem)!;
        Assert.Null(problem);
        Assert.Equal("evil,exit_code:0,x", record.Node);
    }

    [Fact]
    public void A_SIGTERM_to_the_script_still_leaves_an_exit_record_once_the_harness_ends()
    {
        string started = Path.Combine(_shell.Dir, "started");
        string release = Path.Combine(_shell.Dir, "release");
        var env = new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "1", ["FAKE_STARTED"] = started, ["FAKE_RELEASE"] = release, ["FAKE_EXIT"] = "1" };
        using System.Diagnostics.Process script = _shell.Start("/bin/sh", ["-c", TaskScript.Body(TaskEnvironment.Kubernetes, Root), "harness-task", .. _shell.HarnessCommand, "run", "minilm"], env);
        for (int i = 0; i < 400 && !File.Exists(started); i++)
        {
            Thread.Sleep(25);
        }

        Assert.True(File.Exists(started), "the fake harness did not start");
        Assert.Equal(0, SystemProcessRunner.Instance.Run("kill", ["-TERM", script.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10)).ExitCode);
        File.WriteAllText(release, "");

        (int code, _, _) = ShellRunner.Finish(script);

        Assert.Equal(1, code);
        Assert.Equal(1, TaskExitRecord.TryRead(Path.Combine(Root, "status", "task-1.json"), out _)!.ExitCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("1; rm -rf /")]
    public void Without_a_task_number_it_runs_nothing_and_exits_2(string? index)
    {
        var env = new Dictionary<string, string>();
        if (index is not null)
        {
            env["JOB_COMPLETION_INDEX"] = index;
        }

        (int code, _, string stderr) = RunPod(["minilm"], env);

        Assert.Equal(2, code);
        Assert.Contains("JOB_COMPLETION_INDEX does not hold a task number", stderr, StringComparison.Ordinal);
        Assert.Empty(_shell.RecordedArgv);
    }
}
