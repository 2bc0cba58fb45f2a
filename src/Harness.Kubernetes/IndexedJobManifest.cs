using System.Globalization;
using System.Text.RegularExpressions;
using Harness.Fleet;
using k8s;
using k8s.Models;

namespace Harness.Kubernetes;

/// <summary>A fleet run as a Kubernetes Indexed Job, before it becomes a manifest.</summary>
public sealed record IndexedJobSpec
{
    public string Name { get; init; } = "harness-fleet";

    public string? Namespace { get; init; }

    /// <summary>Pods running at once.</summary>
    public int Parallelism { get; init; } = 1;

    /// <summary>Pods (tasks) in all; the parallelism when not given.</summary>
    public int? Completions { get; init; }

    /// <summary>nvidia.com/gpu per pod; null for CPU-only pods.</summary>
    public int? GpusPerPod { get; init; }

    /// <summary>The image; null for <see cref="IndexedJobManifest.DefaultImage"/>.</summary>
    public string? Image { get; init; }

    /// <summary>Node labels a pod's node must carry (key=value each).</summary>
    public IReadOnlyList<string> NodeSelectors { get; init; } = [];

    /// <summary>Taints the pods tolerate: key[=value][:Effect] each.</summary>
    public IReadOnlyList<string> Tolerations { get; init; } = [];

    /// <summary>A PersistentVolumeClaim (ReadWriteMany) that every pod mounts at /results.</summary>
    public string? ResultsClaim { get; init; }

    /// <summary>A Pushgateway the runs push their final metrics to (the run's --pushgateway option, with --job set to <see cref="Name"/>).</summary>
    public string? Pushgateway { get; init; }

    public required FleetCommandLine Command { get; init; }

    public int TaskCount => Completions ?? Parallelism;
}

/// <summary>
/// Builds the Indexed Job of a fleet run with the Kubernetes object model (KubernetesClient's V1Job)
/// and emits it as YAML. Each pod runs the same task script as a Slurm task (<see cref="TaskScript"/>),
/// with its completion index as the task number, and writes results/task-N.json and status/task-N.json
/// to the results volume, so that <c>harness merge</c> reads a Kubernetes fleet like a Slurm one.
/// A failed index does not stop the others (backoffLimitPerIndex 0, maxFailedIndexes = completions),
/// and pods spread over nodes (a topology spread constraint on the hostname).
/// </summary>
public static partial class IndexedJobManifest
{
    public const string ResultsMountPath = "/results";

    /// <summary>The uid and gid the Containerfile's image runs as: the pods' fsGroup, so a results claim is writable.</summary>
    public const long ImageUserId = 10001;

    /// <summary>
    /// What docs/fleet.md builds from the Containerfile: <c>harness:VERSION</c> (CPU) or <c>harness:VERSION-cuda</c>,
    /// VERSION being this build's (Directory.Build.props).
    /// </summary>
    public static string DefaultImage(bool gpu) =>
        $"harness:{typeof(IndexedJobManifest).Assembly.GetName().Version?.ToString(3)}{(gpu ? "-cuda" : "")}";
    public const string GpuResource = "nvidia.com/gpu";
    public const string FleetLabel = "harness.fleet/name";

    public static V1Job Build(IndexedJobSpec spec)
    {
        Validate(spec);
        int tasks = spec.TaskCount;
        var labels = new Dictionary<string, string>
        {
            ["app.kubernetes.io/name"] = "harness",
            ["app.kubernetes.io/component"] = "fleet",
            [FleetLabel] = spec.Name,
        };
        string resultsRoot = $"{ResultsMountPath}/{spec.Name}";
        List<string> argv = [.. spec.Command.Argv];
        if (spec.Pushgateway is not null)
        {
            // Pushes group by job and instance (the pod): the fleet's name as the job keeps one fleet together.
            argv.AddRange(["--pushgateway", spec.Pushgateway]);
            if (!spec.Command.RunArguments.Any(a => a == "--job" || a.StartsWith("--job=", StringComparison.Ordinal)))
            {
                argv.AddRange(["--job", spec.Name]);
            }
        }

        var container = new V1Container
        {
            Name = "harness",
            Image = spec.Image ?? DefaultImage(spec.GpusPerPod is > 0),
            // sh -c BODY $0 "$@": the harness command arrives as positional parameters, never re-parsed by the shell.
            Command = ["/bin/sh", "-c", TaskScript.Body(TaskEnvironment.Kubernetes, resultsRoot), "harness-task", .. argv],
            Env =
            [
                new V1EnvVar
                {
                    Name = "JOB_COMPLETION_INDEX",
                    ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
                },
                new V1EnvVar { Name = "NODE_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "spec.nodeName" } } },
                new V1EnvVar { Name = "HARNESS_JOB_NAME", Value = spec.Name },
                new V1EnvVar { Name = "HARNESS_FLEET_TASKS", Value = tasks.ToString(CultureInfo.InvariantCulture) },
            ],
            VolumeMounts = [new V1VolumeMount { Name = "results", MountPath = ResultsMountPath }],
        };
        if (spec.GpusPerPod is { } gpus)
        {
            var quantity = new Dictionary<string, ResourceQuantity> { [GpuResource] = new ResourceQuantity(gpus.ToString(CultureInfo.InvariantCulture)) };
            container.Resources = new V1ResourceRequirements { Limits = quantity, Requests = new Dictionary<string, ResourceQuantity>(quantity) };
        }

        var volume = spec.ResultsClaim is { } claim
            ? new V1Volume { Name = "results", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = claim } }
            : new V1Volume { Name = "results", EmptyDir = new V1EmptyDirVolumeSource() };

        var pod = new V1PodSpec
        {
            RestartPolicy = "Never",
            SecurityContext = new V1PodSecurityContext { FsGroup = ImageUserId },
            Containers = [container],
            Volumes = [volume],
            NodeSelector = spec.NodeSelectors.Count == 0 ? null : spec.NodeSelectors.Select(ParseNodeSelector).ToDictionary(kv => kv.Key, kv => kv.Value),
            Tolerations = spec.Tolerations.Count == 0 ? null : spec.Tolerations.Select(ParseToleration).ToList(),
            TopologySpreadConstraints =
            [
                new V1TopologySpreadConstraint
                {
                    MaxSkew = 1,
                    TopologyKey = "kubernetes.io/hostname",
                    WhenUnsatisfiable = "DoNotSchedule",
                    LabelSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [FleetLabel] = spec.Name } },
                },
            ],
        };

        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta { Name = spec.Name, NamespaceProperty = spec.Namespace, Labels = labels },
            Spec = new V1JobSpec
            {
                CompletionMode = "Indexed",
                Completions = tasks,
                Parallelism = spec.Parallelism,
                // A failed benchmark is a finding, not something to retry; and one bad node must not stop the rest.
                BackoffLimitPerIndex = 0,
                MaxFailedIndexes = tasks,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels) },
                    Spec = pod,
                },
            },
        };
    }

    /// <summary>The manifest as YAML, with a comment that says how to use it.</summary>
    public static string ToYaml(V1Job job)
    {
        string name = job.Metadata.Name;
        int tasks = job.Spec.Completions ?? 1;
        bool claim = job.Spec.Template.Spec.Volumes?.Any(v => v.PersistentVolumeClaim is not null) == true;
        string header =
            $"# Written by 'harness k8s manifest': {tasks} indexed pods; pod N writes {ResultsMountPath}/{name}/results/task-N.json and status/task-N.json.\n" +
            "# Apply with: kubectl apply -f <this file>; follow with: kubectl get pods -l " + FleetLabel + "=" + name + "\n" +
            (claim
                ? $"# Then copy {ResultsMountPath}/{name} off the volume and run: harness merge <that folder>\n"
                : "# No results volume: each pod's result is in its log only (kubectl logs); the metrics go to the Pushgateway.\n") +
            "# Needs Kubernetes 1.29 or later (backoffLimitPerIndex).\n";
        return header + KubernetesYaml.Serialize(job);
    }

    /// <summary>"key=value": a node label the pods' nodes must carry.</summary>
    public static KeyValuePair<string, string> ParseNodeSelector(string text)
    {
        int eq = text.IndexOf('=', StringComparison.Ordinal);
        string key = eq > 0 ? text[..eq] : "";
        string value = eq > 0 ? text[(eq + 1)..] : "";
        if (!LabelKeyPattern().IsMatch(key) || !LabelValuePattern().IsMatch(value))
        {
            throw HarnessException.BadInput($"--node-selector '{text}' is not of the form key=value with a Kubernetes label key and value (e.g. nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3).");
        }

        return new(key, value);
    }

    /// <summary>
    /// "key[=value][:Effect]", as kubectl writes taints: with a value the operator is Equal, without
    /// one Exists; without an effect every effect is tolerated.
    /// </summary>
    public static V1Toleration ParseToleration(string text)
    {
        string rest = text;
        string? effect = null;
        int colon = rest.LastIndexOf(':');
        if (colon >= 0)
        {
            effect = rest[(colon + 1)..];
            rest = rest[..colon];
            if (effect is not ("NoSchedule" or "PreferNoSchedule" or "NoExecute"))
            {
                throw HarnessException.BadInput($"--toleration '{text}' has the effect '{effect}'; use NoSchedule, PreferNoSchedule or NoExecute.");
            }
        }

        int eq = rest.IndexOf('=', StringComparison.Ordinal);
        string key = eq >= 0 ? rest[..eq] : rest;
        string? value = eq >= 0 ? rest[(eq + 1)..] : null;
        if (!LabelKeyPattern().IsMatch(key) || (value is not null && !LabelValuePattern().IsMatch(value)))
        {
            throw HarnessException.BadInput($"--toleration '{text}' is not of the form key[=value][:Effect], e.g. nvidia.com/gpu:NoSchedule or dedicated=bench:NoSchedule.");
        }

        return new V1Toleration { Key = key, OperatorProperty = value is null ? "Exists" : "Equal", Value = value, Effect = effect };
    }

    private static void Validate(IndexedJobSpec spec)
    {
        if (spec.Name.Length > 63 || !DnsLabelPattern().IsMatch(spec.Name))
        {
            throw HarnessException.BadInput($"--name '{spec.Name}' is not a Kubernetes name: lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit.");
        }

        if (spec.Namespace is { } ns && (ns.Length > 63 || !DnsLabelPattern().IsMatch(ns)))
        {
            throw HarnessException.BadInput($"--namespace '{ns}' is not a Kubernetes namespace name.");
        }

        if (spec.Parallelism < 1)
        {
            throw HarnessException.BadInput($"--parallelism must be at least 1, got {spec.Parallelism}.");
        }

        if (spec.Completions is < 1)
        {
            throw HarnessException.BadInput($"--completions must be at least 1, got {spec.Completions}.");
        }

        if (spec.GpusPerPod is < 1)
        {
            throw HarnessException.BadInput($"--gpus-per-pod must be at least 1, got {spec.GpusPerPod}.");
        }

        if (spec.Image is not null && (spec.Image.Length == 0 || spec.Image.Any(char.IsWhiteSpace)))
        {
            throw HarnessException.BadInput($"--image '{spec.Image}' is not a container image reference.");
        }

        if (spec.ResultsClaim is null == spec.Pushgateway is null)
        {
            throw HarnessException.BadInput(spec.ResultsClaim is null
                ? "Give --results-volume CLAIM (a ReadWriteMany PersistentVolumeClaim) or --pushgateway URL: a pod's files vanish with it."
                : "Give either --results-volume or --pushgateway, not both.");
        }

        if (spec.ResultsClaim is { } claim && (claim.Length > 253 || !DnsSubdomainPattern().IsMatch(claim)))
        {
            throw HarnessException.BadInput($"--results-volume '{claim}' is not a PersistentVolumeClaim name.");
        }

        if (spec.Pushgateway is { } url && (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https")))
        {
            throw HarnessException.BadInput($"--pushgateway '{url}' is not an http(s) URL.");
        }
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabelPattern();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomainPattern();

    /// <summary>[prefix/]name: prefix a DNS subdomain, name up to 63 of [A-Za-z0-9-_.] starting and ending alphanumeric.</summary>
    [GeneratedRegex(@"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex LabelKeyPattern();

    [GeneratedRegex(@"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]
    private static partial Regex LabelValuePattern();
}
