using System.CommandLine;
using Harness.Fleet;
using Harness.Fleet.Slurm;
using Harness.Results;

namespace Harness.Cli.Commands;

/// <summary><c>harness slurm submit|status|collect</c>: a fleet run as a Slurm array job.</summary>
public static class SlurmCommand
{
    public static Command Create(Command run, TextWriter output, TextWriter error, CancellationToken interrupt, IProcessRunner? runner = null)
    {
        var command = new Command("slurm", "Run a suite on many nodes as a Slurm array job, follow it, and merge its results.")
        {
            Submit(run, output, runner),
            Status(output, runner),
            Collect(output, error, runner, interrupt),
        };
        return command;
    }

    private static Command Submit(Command run, TextWriter output, IProcessRunner? runner)
    {
        var nodes = new Option<int>("--nodes", "-N") { Description = "Nodes to test.", Required = true };
        var gpus = new Option<int?>("--gpus-per-node") { Description = "GPUs per node; with it, one task per GPU unless --per node." };
        var per = new Option<string?>("--per") { Description = "One task per 'node' or per 'gpu' (default: gpu when --gpus-per-node is given, else node)." };
        per.AcceptOnlyFromAmong("node", "gpu");
        var partition = new Option<string?>("--partition", "-p") { Description = "Slurm partition." };
        var time = new Option<string?>("--time", "-t") { Description = "Time limit per task, in Slurm's format (e.g. 30, 1:00:00)." };
        var jobName = new Option<string>("--job-name") { Description = "Slurm job name.", DefaultValueFactory = _ => "harness-fleet" };
        var results = new Option<string?>("--results") { Description = "Results folder on a filesystem all nodes share (default: results/fleet-<utc time>)." };
        var harness = FleetArguments.HarnessCommand("on the nodes (default: this harness, by its path here)");
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the sbatch script; submit nothing, write nothing." };
        var runArgs = FleetArguments.RunArguments();
        var command = new Command("submit", "Write and submit an sbatch array job: each task runs 'harness run' with the given arguments and writes results/task-N.json.")
        {
            nodes, gpus, per, partition, time, jobName, results, harness, dryRun, runArgs,
        };
        command.SetAction(parse =>
        {
            int? gpn = parse.GetValue(gpus);
            TaskGranularity granularity = parse.GetValue(per) switch
            {
                "node" => TaskGranularity.Node,
                "gpu" => TaskGranularity.Gpu,
                _ => gpn is null ? TaskGranularity.Node : TaskGranularity.Gpu,
            };
            string folder = parse.GetValue(results) ?? Path.Combine("results", $"fleet-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}");
            IReadOnlyList<string> harnessCommand = parse.GetValue(harness) is { } h ? FleetCommandLine.SplitHarnessCommand(h) : FleetArguments.Self();
            var spec = new SlurmJobSpec
            {
                Nodes = parse.GetValue(nodes),
                GpusPerNode = gpn,
                Per = granularity,
                Partition = parse.GetValue(partition),
                TimeLimit = parse.GetValue(time),
                JobName = parse.GetValue(jobName)!,
                ResultsDir = Path.GetFullPath(folder),
                Command = FleetArguments.Build(run, harnessCommand, parse.GetValue(runArgs)),
            }.Validate();
            if (parse.GetValue(dryRun))
            {
                output.Write(SbatchScript.Render(spec));
                return ExitCodes.Ok;
            }

            FleetManifest manifest = SlurmFleet.Submit(spec, runner);
            output.WriteLine($"Submitted Slurm job {manifest.JobId}: {manifest.Tasks} tasks, one per {(manifest.Per == TaskGranularity.Gpu ? "GPU" : "node")}, results in {spec.ResultsDir}.");
            output.WriteLine($"Follow with 'harness slurm status {spec.ResultsDir}'; merge with 'harness slurm collect {spec.ResultsDir}'.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Status(TextWriter output, IProcessRunner? runner)
    {
        var folder = new Argument<string?>("results") { Description = "Results folder of a submitted fleet (its fleet.json names the job).", Arity = ArgumentArity.ZeroOrOne };
        var job = new Option<string?>("--job", "-j") { Description = "Slurm job id, instead of a results folder." };
        var command = new Command("status", "Show where each task of a fleet job stands (squeue, sacct) and which have written their result.") { folder, job };
        command.SetAction(parse =>
        {
            string? dir = parse.GetValue(folder);
            string? id = parse.GetValue(job);
            FleetLayout? layout = dir is null ? null : new FleetLayout(dir);
            FleetManifest? manifest = null;
            if (layout is not null)
            {
                if (!Directory.Exists(layout.Root))
                {
                    throw HarnessException.BadInput($"The results folder '{layout.Root}' does not exist.");
                }

                manifest = FleetManifest.TryRead(layout)
                    ?? throw HarnessException.BadInput($"'{layout.Root}' holds no {FleetLayout.ManifestFileName}; give the job id with --job.");
            }

            id ??= manifest?.JobId ?? throw HarnessException.BadInput("Give a results folder or --job ID.");
            var client = new SlurmClient(runner);
            IReadOnlyList<SchedulerTaskState> states = client.Query(id);
            output.Write(SlurmFleet.RenderStatus(id, states, layout, manifest?.Tasks));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Collect(TextWriter output, TextWriter error, IProcessRunner? runner, CancellationToken interrupt)
    {
        var folder = new Argument<string>("results") { Description = "Results folder of a submitted fleet." };
        var timeout = OptionParsers.Duration("--timeout", "Longest wait for tasks still pending or running.", "30m");
        var poll = OptionParsers.Duration("--poll", "Time between looks at the queue.", "10s");
        var merge = MergeCommand.CreateOptions();
        var command = new Command("collect", "Wait for a fleet job to end (bounded), then merge its results; failed and missing tasks are listed with their exit code and log tail.")
        {
            folder, timeout, poll,
        };
        foreach (Option o in merge.All)
        {
            command.Add(o);
        }

        command.SetAction(parse =>
        {
            string dir = parse.GetValue(folder)!;
            var options = new CollectOptions
            {
                Timeout = parse.GetValue(timeout),
                PollInterval = parse.GetValue(poll),
                Merge = merge.Read(parse),
            };
            if (options.PollInterval <= TimeSpan.Zero)
            {
                throw HarnessException.BadInput("--poll must be longer than 0s.");
            }

            string? outPath = parse.GetValue(merge.Out);
            string summaryPath = outPath ?? new FleetLayout(dir).SummaryPath;
            if (outPath is not null || Directory.Exists(dir))
            {
                ResultWriter.EnsureWritable(summaryPath); // before a wait that may last the whole job
            }

            CollectOutcome outcome = new SlurmCollector(runner).Collect(dir, options, error, interrupt);
            return MergeCommand.Report(outcome.Summary, summaryPath, output, error, parse.GetValue(merge.Html));
        });
        return command;
    }
}
