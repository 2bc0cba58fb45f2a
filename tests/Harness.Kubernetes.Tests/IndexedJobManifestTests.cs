using Harness.Fleet;
using k8s;
using k8s.Models;

namespace Harness.Kubernetes.Tests;

public sealed class IndexedJobManifestTests
{
    private static IndexedJobSpec Spec() => new()
    {
        Name = "h100-burnin",
        Namespace = "bench",
        Parallelism = 4,
        Completions = 16,
        GpusPerPod = 8,
        Image = "registry.example/harness:1.0",
        NodeSelectors = ["nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3", "pool=bench"],
        Tolerations = ["nvidia.com/gpu:NoSchedule", "dedicated=bench:NoExecute", "spot"],
        ResultsClaim = "fleet-results",
        Command = new FleetCommandLine(["harness"], ["minilm", "--backend", "onnx:cuda", "--duration", "60s"]),
    };

    /// <summary>The YAML as kubectl would read it: strict, so an unknown or misspelt field fails.</summary>
    private static V1Job RoundTrip(IndexedJobSpec spec)
    {
        string yaml = IndexedJobManifest.ToYaml(IndexedJobManifest.Build(spec));
        object only = Assert.Single(KubernetesYaml.LoadAllFromString(yaml, strict: true));
        return Assert.IsType<V1Job>(only);
    }

    [Fact]
    public void The_manifest_is_an_indexed_job_of_the_kubernetes_object_model()
    {
        V1Job job = RoundTrip(Spec());

        Assert.Equal(("batch/v1", "Job"), (job.ApiVersion, job.Kind));
        Assert.Equal(("h100-burnin", "bench"), (job.Metadata.Name, job.Metadata.NamespaceProperty));
        Assert.Equal("Indexed", job.Spec.CompletionMode);
        Assert.Equal((16, 4), (job.Spec.Completions, job.Spec.Parallelism));
        Assert.Equal(0, job.Spec.BackoffLimitPerIndex);
        Assert.Equal(16, job.Spec.MaxFailedIndexes);
        Assert.Equal("Never", job.Spec.Template.Spec.RestartPolicy);
        Assert.Equal("h100-burnin", job.Spec.Template.Metadata.Labels[IndexedJobManifest.FleetLabel]);
    }

    [Fact]
    public void Each_pod_requests_and_is_limited_to_its_gpus()
    {
        V1Container c = Assert.Single(RoundTrip(Spec()).Spec.Template.Spec.Containers);

        Assert.Equal("registry.example/harness:1.0", c.Image);
        Assert.Equal(new ResourceQuantity("8"), c.Resources.Limits["nvidia.com/gpu"]);
        Assert.Equal(new ResourceQuantity("8"), c.Resources.Requests["nvidia.com/gpu"]);
    }

    [Fact]
    public void Node_selectors_and_tolerations_come_through_as_given()
    {
        V1PodSpec pod = RoundTrip(Spec()).Spec.Template.Spec;

        Assert.Equal("NVIDIA-H100-80GB-HBM3", pod.NodeSelector["nvidia.com/gpu.product"]);
        Assert.Equal("bench", pod.NodeSelector["pool"]);
        Assert.Equal(3, pod.Tolerations.Count);
        Assert.Equivalent(new V1Toleration { Key = "nvidia.com/gpu", OperatorProperty = "Exists", Effect = "NoSchedule" }, pod.Tolerations[0]);
        Assert.Equivalent(new V1Toleration { Key = "dedicated", OperatorProperty = "Equal", Value = "bench", Effect = "NoExecute" }, pod.Tolerations[1]);
        Assert.Equivalent(new V1Toleration { Key = "spot", OperatorProperty = "Exists" }, pod.Tolerations[2]);
        V1TopologySpreadConstraint spread = Assert.Single(pod.TopologySpreadConstraints);
        Assert.Equal(("kubernetes.io/hostname", 1), (spread.TopologyKey, spread.MaxSkew));
    }

    [Fact]
    public void Results_go_to_the_claim_under_the_jobs_name_and_the_task_number_comes_from_the_completion_index()
    {
        V1PodSpec pod = RoundTrip(Spec()).Spec.Template.Spec;
        V1Container c = pod.Containers[0];

        Assert.Equal("fleet-results", Assert.Single(pod.Volumes).PersistentVolumeClaim.ClaimName);
        Assert.Equal("/results", Assert.Single(c.VolumeMounts).MountPath);
        Assert.Equal("metadata.annotations['batch.kubernetes.io/job-completion-index']", c.Env.Single(e => e.Name == "JOB_COMPLETION_INDEX").ValueFrom.FieldRef.FieldPath);
        Assert.Equal("spec.nodeName", c.Env.Single(e => e.Name == "NODE_NAME").ValueFrom.FieldRef.FieldPath);
        Assert.Equal("16", c.Env.Single(e => e.Name == "HARNESS_FLEET_TASKS").Value);
        Assert.Equal(["/bin/sh", "-c"], c.Command.Take(2));
        Assert.Equal(TaskScript.Body(TaskEnvironment.Kubernetes, "/results/h100-burnin"), c.Command[2]);
        Assert.Equal(["harness-task", "harness", "run", "minilm", "--backend", "onnx:cuda", "--duration", "60s"], c.Command.Skip(3));
    }

    [Fact]
    public void Without_gpus_or_selectors_the_pod_asks_for_none()
    {
        V1PodSpec pod = RoundTrip(Spec() with { GpusPerPod = null, NodeSelectors = [], Tolerations = [] }).Spec.Template.Spec;

        Assert.Null(pod.Containers[0].Resources);
        Assert.Null(pod.NodeSelector);
        Assert.Null(pod.Tolerations);
    }

    [Fact]
    public void Without_an_image_pods_run_what_the_containerfile_builds_as_its_user()
    {
        V1PodSpec gpu = RoundTrip(Spec() with { Image = null }).Spec.Template.Spec;
        V1PodSpec cpu = RoundTrip(Spec() with { Image = null, GpusPerPod = null }).Spec.Template.Spec;
        string version = typeof(IndexedJobManifest).Assembly.GetName().Version!.ToString(3);

        Assert.Equal($"harness:{version}-cuda", gpu.Containers[0].Image);
        Assert.Equal($"harness:{version}", cpu.Containers[0].Image);
        // The uid the Containerfile's user has, so a claim that honours fsGroup is writable by it.
        string containerfile = File.ReadAllText(Path.Combine(Harness.Testing.Repository.Root, "Containerfile"));
        Assert.Contains($"USER {IndexedJobManifest.ImageUserId}:{IndexedJobManifest.ImageUserId}", containerfile, StringComparison.Ordinal);
        Assert.Equal(IndexedJobManifest.ImageUserId, cpu.SecurityContext.FsGroup);
    }

    [Fact]
    public void Completions_default_to_the_parallelism()
    {
        V1Job job = RoundTrip(Spec() with { Completions = null, Parallelism = 3 });

        Assert.Equal((3, 3, 3), (job.Spec.Completions, job.Spec.Parallelism, job.Spec.MaxFailedIndexes));
    }

    [Fact]
    public void With_a_pushgateway_the_runs_push_and_results_stay_in_the_pod()
    {
        V1PodSpec pod = RoundTrip(Spec() with { ResultsClaim = null, Pushgateway = "http://pushgateway.monitoring:9091" }).Spec.Template.Spec;

        Assert.NotNull(Assert.Single(pod.Volumes).EmptyDir);
        Assert.Equal(["--pushgateway", "http://pushgateway.monitoring:9091", "--job", "h100-burnin"], pod.Containers[0].Command.TakeLast(4));
    }

    [Fact]
    public void The_yaml_says_how_to_apply_and_merge_it()
    {
        string yaml = IndexedJobManifest.ToYaml(IndexedJobManifest.Build(Spec()));

        Assert.StartsWith("# Written by 'harness k8s manifest': 16 indexed pods", yaml, StringComparison.Ordinal);
        Assert.Contains("harness merge", yaml, StringComparison.Ordinal);
        Assert.Contains("completionMode: Indexed", yaml, StringComparison.Ordinal);
    }

    public static TheoryData<IndexedJobSpec, string> BadSpecs => new()
    {
        { Spec() with { Name = "H100_Burnin" }, "--name 'H100_Burnin' is not a Kubernetes name" },
        { Spec() with { Namespace = "Bench!" }, "--namespace" },
        { Spec() with { Parallelism = 0 }, "--parallelism must be at least 1" },
        { Spec() with { Completions = 0 }, "--completions must be at least 1" },
        { Spec() with { GpusPerPod = 0 }, "--gpus-per-pod must be at least 1" },
        { Spec() with { Image = "my image" }, "--image" },
        { Spec() with { Image = "" }, "--image" },
        { Spec() with { ResultsClaim = null }, "Give --results-volume CLAIM" },
        { Spec() with { Pushgateway = "http://pg:9091" }, "not both" },
        { Spec() with { ResultsClaim = "Results_Claim" }, "--results-volume" },
        { Spec() with { ResultsClaim = null, Pushgateway = "pg:9091" }, "is not an http(s) URL" },
        { Spec() with { NodeSelectors = ["pool"] }, "--node-selector 'pool'" },
        { Spec() with { NodeSelectors = ["pool=a b"] }, "--node-selector" },
        { Spec() with { Tolerations = ["gpu:NoWay"] }, "effect 'NoWay'" },
        { Spec() with { Tolerations = ["=x:NoSchedule"] }, "--toleration" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void Bad_input_is_one_sentence(IndexedJobSpec spec, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => IndexedJobManifest.Build(spec));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
