using Harness.Fleet;
using Harness.Testing;
using k8s;
using k8s.Models;

namespace Harness.Cli.Tests.Commands;

/// <summary>slurm, merge and k8s through the command line, with a fake Slurm: output, files and exit codes.</summary>
public sealed class FleetCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-cli-fleet-").FullName;
    private readonly FakeProcessRunner _noSlurm = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Slurm_dry_run_prints_the_script_and_writes_nothing()
    {
        string results = Path.Combine(_dir, "run");

        (int code, string stdout, string stderr) = CliRunner.RunWith(_noSlurm, "slurm", "submit", "--nodes", "2", "--results", results, "--dry-run", "--", "minilm", "--duration", "1s");

        Assert.Equal((0, ""), (code, stderr));
        Assert.StartsWith("#!/bin/bash\n", stdout, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --array=0-1\n", stdout, StringComparison.Ordinal);
        Assert.Contains("'run' 'minilm' '--duration' '1s'\n", stdout, StringComparison.Ordinal);
        Assert.Contains($"'{typeof(HarnessCli).Assembly.Location}'", stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(results));
        Assert.Empty(_noSlurm.Calls);
    }

    [Fact]
    public void Submitting_without_Slurm_is_one_sentence_and_exit_2()
    {
        string results = Path.Combine(_dir, "run");

        (int code, string stdout, string stderr) = CliRunner.RunWith(_noSlurm, "slurm", "submit", "--nodes", "2", "--results", results, "--", "minilm");

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("", stdout);
        Assert.Equal("harness: Slurm is not installed here: 'sbatch' was not found on PATH (use --dry-run to print the script instead).\n", stderr.ReplaceLineEndings("\n"));
        Assert.False(Directory.Exists(results));
    }

    [Fact]
    public void Submit_records_the_job_and_says_how_to_follow_it()
    {
        var slurm = new FakeProcessRunner("sbatch") { Answer = (_, _) => new ProcessResult(0, "808\n", "") };
        string results = Path.Combine(_dir, "run");

        (int code, string stdout, _) = CliRunner.RunWith(slurm, "slurm", "submit", "--nodes", "3", "--gpus-per-node", "2", "--results", results, "--", "minilm");

        Assert.Equal(0, code);
        Assert.Contains("Submitted Slurm job 808: 6 tasks, one per GPU", stdout, StringComparison.Ordinal);
        Assert.Equal(6, FleetManifest.TryRead(new FleetLayout(results))!.Tasks);
    }

    public static TheoryData<string[], string> BadInput => new()
    {
        { ["slurm", "submit", "--nodes", "0", "--dry-run", "--", "minilm"], "--nodes must be at least 1" },
        { ["slurm", "submit", "--dry-run", "--", "minilm"], "--nodes" },
        { ["slurm", "submit", "--nodes", "2", "--per", "gpu", "--dry-run", "--", "minilm"], "--per gpu needs --gpus-per-node" },
        { ["slurm", "submit", "--nodes", "2", "--per", "rack", "--dry-run", "--", "minilm"], "rack" },
        { ["slurm", "submit", "--nodes", "2", "--time", "soon", "--dry-run", "--", "minilm"], "is not a Slurm time limit" },
        { ["slurm", "submit", "--nodes", "2", "--dry-run", "--", "minilm", "--out", "x.json"], "Remove '--out'" },
        { ["slurm", "submit", "--nodes", "2", "--dry-run", "--", "minilm", "--bogus"], "The run arguments do not parse" },
        { ["slurm", "submit", "--nodes", "2", "--dry-run"], "starting with the workload" },
        { ["slurm", "status"], "Give a results folder or --job ID" },
        { ["slurm", "status", "--job", "12;reboot"], "is not a Slurm job id" },
        { ["slurm", "status", "DIR/nope"], "does not exist" },
        { ["slurm", "collect", "DIR/nope"], "does not exist" },
        { ["slurm", "collect", "DIR", "--poll", "0s"], "--poll must be longer than 0s" },
        { ["slurm", "collect", "DIR", "--timeout", "later"], "is not a duration" },
        { ["merge", "DIR/nope"], "does not exist" },
        { ["merge", "DIR"], "nothing to merge" },
        { ["merge", "DIR", "--k", "0"], "--k must be a positive number" },
        { ["merge", "DIR", "--expect", "0"], "--expect must be at least 1" },
        { ["k8s", "manifest", "--", "minilm"], "Give --results-volume CLAIM" },
        { ["k8s", "manifest", "--results-volume", "c", "--toleration", "gpu:Sometimes", "--", "minilm"], "effect 'Sometimes'" },
        { ["k8s", "manifest", "--results-volume", "c", "--name", "Fleet", "--", "minilm"], "is not a Kubernetes name" },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public void Bad_input_is_one_sentence_and_exit_2(string[] args, string expected)
    {
        string[] full = args.Select(a => a.Replace("DIR", _dir, StringComparison.Ordinal)).ToArray();

        (int code, string stdout, string stderr) = CliRunner.RunWith(_noSlurm, full);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("", stdout);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
        Assert.Empty(_noSlurm.Calls);
    }

    [Fact]
    public void Merge_flags_the_slow_node_prints_the_table_and_exits_1()
    {
        using var fleet = new FleetFolder();
        fleet.WriteManifest(6);
        fleet.WriteHealthyFleet(6);
        fleet.WriteResult(4, FleetFolder.Result(throughput: 70, host: "n4"));
        string summary = Path.Combine(_dir, "summary.json"), html = Path.Combine(_dir, "fleet.html");

        (int code, string stdout, string stderr) = CliRunner.Run("merge", fleet.Root, "--out", summary, "--html", html);

        Assert.Equal((ExitCodes.Invalid, ""), (code, stderr));
        Assert.Contains("| 4 | n4 | Test CPU | ok | 70 |", stdout, StringComparison.Ordinal);
        Assert.Contains("SLOW: throughput 70 is", stdout, StringComparison.Ordinal);
        Assert.Contains("NEEDS ATTENTION", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(summary));
        string page = File.ReadAllText(html);
        Assert.Contains("data-series=\"flagged outlier\"", page, StringComparison.Ordinal);
        Assert.Contains("task 4 n4", page, StringComparison.Ordinal);
    }

    [Fact]
    public void Merge_of_a_healthy_fleet_exits_0_and_writes_the_summary_beside_the_results()
    {
        using var fleet = new FleetFolder();
        fleet.WriteManifest(4);
        fleet.WriteHealthyFleet(4);

        (int code, string stdout, _) = CliRunner.Run("merge", fleet.Root);

        Assert.Equal(0, code);
        Assert.Contains("HEALTHY", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(fleet.Layout.SummaryPath));
    }

    [Fact]
    public void K8s_manifest_prints_an_indexed_job_that_the_object_model_reads()
    {
        (int code, string yaml, string stderr) = CliRunner.Run(
            "k8s", "manifest", "--name", "bench", "--parallelism", "4", "--completions", "8", "--gpus-per-pod", "1",
            "--image", "harness:1.0", "--node-selector", "pool=gpu", "--toleration", "nvidia.com/gpu:NoSchedule",
            "--results-volume", "fleet-results", "--", "minilm", "--backend", "onnx:cuda");

        Assert.Equal((0, ""), (code, stderr));
        var job = Assert.IsType<V1Job>(Assert.Single(KubernetesYaml.LoadAllFromString(yaml, strict: true)));
        Assert.Equal((8, 4, "Indexed"), (job.Spec.Completions, job.Spec.Parallelism, job.Spec.CompletionMode));
        V1Container c = job.Spec.Template.Spec.Containers[0];
        Assert.Equal(["harness-task", "harness", "run", "minilm", "--backend", "onnx:cuda"], c.Command.Skip(3));
        Assert.Equal(new ResourceQuantity("1"), c.Resources.Limits["nvidia.com/gpu"]);
    }

    [Fact]
    public void K8s_pushgateway_is_passed_to_the_runs_where_this_build_can_push_and_refused_where_it_cannot()
    {
        bool canPush = HarnessCli.BuildRoot(TextWriter.Null, TextWriter.Null).Subcommands.Single(c => c.Name == "run").Options.Any(o => o.Name == "--pushgateway");

        (int code, string yaml, string stderr) = CliRunner.Run("k8s", "manifest", "--name", "bench", "--pushgateway", "http://127.0.0.1:9091", "--", "minilm");

        if (canPush)
        {
            Assert.Equal((0, ""), (code, stderr));
            var job = Assert.IsType<V1Job>(Assert.Single(KubernetesYaml.LoadAllFromString(yaml, strict: true)));
            Assert.Equal(["--pushgateway", "http://127.0.0.1:9091", "--job", "bench"], job.Spec.Template.Spec.Containers[0].Command.TakeLast(4));
        }
        else
        {
            Assert.Equal(ExitCodes.BadInput, code);
            Assert.Equal("harness: --pushgateway needs 'harness run --pushgateway' (the telemetry feature), which this build lacks; use --results-volume.\n", stderr.ReplaceLineEndings("\n"));
        }
    }

    [Fact]
    public void K8s_manifest_writes_to_a_file_when_asked()
    {
        string path = Path.Combine(_dir, "job.yaml");

        (int code, string stdout, _) = CliRunner.Run("k8s", "manifest", "--results-volume", "r", "--out", path, "--", "minilm");

        Assert.Equal((0, ""), (code, stdout));
        Assert.IsType<V1Job>(Assert.Single(KubernetesYaml.LoadAllFromString(File.ReadAllText(path), strict: true)));
    }
}
