using System.CommandLine;
using Harness.Fleet;
using Harness.Kubernetes;
using Harness.Results;

namespace Harness.Cli.Commands;

/// <summary><c>harness k8s manifest</c>: a fleet run as a Kubernetes Indexed Job, as YAML.</summary>
public static class K8sCommand
{
    public static Command Create(Command run, TextWriter output)
    {
        var name = new Option<string>("--name") { Description = "Job name; also the results sub-folder on the volume.", DefaultValueFactory = _ => "harness-fleet" };
        var ns = new Option<string?>("--namespace", "-n") { Description = "Namespace (default: kubectl's current one)." };
        var parallelism = new Option<int>("--parallelism") { Description = "Pods running at once.", DefaultValueFactory = _ => 1 };
        var completions = new Option<int?>("--completions") { Description = "Pods (tasks) in all, indexed 0..N-1 (default: the parallelism)." };
        var gpus = new Option<int?>("--gpus-per-pod") { Description = "nvidia.com/gpu each pod requests and is limited to." };
        var image = new Option<string?>("--image")
        {
            Description = $"Container image with the harness on PATH (default {IndexedJobManifest.DefaultImage(false)}, "
                + $"{IndexedJobManifest.DefaultImage(true)} with --gpus-per-pod: the Containerfile's tags, docs/fleet.md).",
        };
        var selector = new Option<string[]>("--node-selector") { Description = "Node label the pods need, key=value (repeatable).", AllowMultipleArgumentsPerToken = false };
        var toleration = new Option<string[]>("--toleration") { Description = "Taint the pods tolerate, key[=value][:Effect] (repeatable).", AllowMultipleArgumentsPerToken = false };
        var claim = new Option<string?>("--results-volume") { Description = "PersistentVolumeClaim (ReadWriteMany) mounted at /results; pod N writes /results/NAME/results/task-N.json." };
        var push = new Option<string?>("--pushgateway") { Description = "Pushgateway URL the runs push their metrics to, instead of a results volume." };
        var harness = FleetArguments.HarnessCommand("in the container (default: harness)");
        var outFile = new Option<string?>("--out", "-o") { Description = "Write the manifest to this file instead of stdout." };
        var runArgs = FleetArguments.RunArguments();
        var manifest = new Command("manifest", "Print a Kubernetes Indexed Job that runs 'harness run' with the given arguments in every pod (kubectl apply -f).")
        {
            name, ns, parallelism, completions, gpus, image, selector, toleration, claim, push, harness, outFile, runArgs,
        };
        manifest.SetAction(parse =>
        {
            string? pushgateway = parse.GetValue(push);
            if (pushgateway is not null && !run.Options.Any(o => o.Name == "--pushgateway"))
            {
                throw HarnessException.BadInput("--pushgateway needs 'harness run --pushgateway' (the telemetry feature), which this build lacks; use --results-volume.");
            }

            IReadOnlyList<string> harnessCommand = parse.GetValue(harness) is { } h ? FleetCommandLine.SplitHarnessCommand(h) : ["harness"];
            var spec = new IndexedJobSpec
            {
                Name = parse.GetValue(name)!,
                Namespace = parse.GetValue(ns),
                Parallelism = parse.GetValue(parallelism),
                Completions = parse.GetValue(completions),
                GpusPerPod = parse.GetValue(gpus),
                Image = parse.GetValue(image),
                NodeSelectors = parse.GetValue(selector) ?? [],
                Tolerations = parse.GetValue(toleration) ?? [],
                ResultsClaim = parse.GetValue(claim),
                Pushgateway = pushgateway,
                Command = FleetArguments.Build(run, harnessCommand, parse.GetValue(runArgs)),
            };
            string yaml = IndexedJobManifest.ToYaml(IndexedJobManifest.Build(spec));
            if (parse.GetValue(outFile) is { } path)
            {
                AtomicFile.WriteAllText(path, yaml);
            }
            else
            {
                output.Write(yaml);
            }

            return ExitCodes.Ok;
        });
        return new Command("k8s", "Run a suite on many nodes as a Kubernetes Indexed Job.") { manifest };
    }
}
