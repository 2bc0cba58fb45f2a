using Harness.Backends;
using Harness.Decoding;

namespace Harness.Cli.Tests.Commands;

/// <summary>
/// <c>--set</c> is checked against what each workload declares, for every workload of every provider
/// the CLI registers: an unknown key or a bad value exits 2 with one sentence naming the workload and
/// its keys, before anything is loaded or connected.
/// </summary>
public sealed class WorkloadSettingsTests : IDisposable
{
    /// <summary>Nothing listens on port 9 of loopback: a check that connected first would fail differently.</summary>
    private const string Endpoint = "http://127.0.0.1:9/v1";

    private readonly string _dir = Directory.CreateTempSubdirectory("harness-cli-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Every workload of the real registry, with a backend of its provider that names a local device or an endpoint.</summary>
    public static TheoryData<string, string> Workloads()
    {
        var data = new TheoryData<string, string>();
        foreach (IBackendProvider p in HarnessCli.CreateRegistry().Providers)
        {
            string backend = p is IEndpointProvider ? $"{p.Runtime}:{Endpoint}" : $"{p.Runtime}:{p.Devices[0]}";
            foreach (WorkloadInfo w in p.Workloads)
            {
                data.Add(w.Name, backend);
            }
        }

        return data;
    }

    [Fact]
    public void Every_provider_of_the_registry_gives_its_workloads_and_onnx_has_some()
    {
        IReadOnlyList<IBackendProvider> providers = HarnessCli.CreateRegistry().Providers;
        string[] runtimes = [.. Workloads().Select(row => BackendSpec.Parse((string)row[1]).Runtime).Distinct()];
        Assert.Equal(providers.Where(p => p.Workloads.Count > 0).Select(p => p.Runtime), runtimes);
        Assert.Equal(providers.Sum(p => p.Workloads.Count), Workloads().Count);
        Assert.NotEmpty(providers.Single(p => p.Runtime == "onnx").Workloads);
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void An_unknown_key_exits_2_and_lists_the_workloads_keys_with_their_types(string workload, string backend)
    {
        (int code, string message) = Run(workload, backend, "--set", "sizee=4096");

        Assert.Equal(2, code);
        string runtime = BackendSpec.Parse(backend).Runtime;
        Assert.Contains($"Workload '{workload}' on {runtime} has no setting 'sizee'", message, StringComparison.Ordinal);
        WorkloadInfo info = HarnessCli.CreateRegistry().Providers.Single(p => p.Runtime == runtime)
            .Workloads.Single(w => w.Name == workload);
        if (info.Settings.Keys.Count == 0)
        {
            // A workload may take no key: the sentence then says so.
            Assert.EndsWith("; it takes no settings.", message, StringComparison.Ordinal);
        }

        Assert.All(info.Settings.Keys, k => Assert.Contains($"{k.Name} ({k.Type})", message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("minilm", "onnx:cpu", "sequence_length=abc", "setting sequence_length=abc is not an integer of at least 8")]
    [InlineData("minilm", "onnx:cpu", "sequence_length=4", "setting sequence_length=4 is not an integer of at least 8")]
    [InlineData("gemm", "onnx:cpu", "size=-1", "setting size=-1 is not an integer of at least 1")]
    [InlineData("gemm", "torch:cpu", "size=-1", "setting size=-1 is not an integer of at least 1")]
    [InlineData("copy", "onnx:cpu", "mode=write", "setting mode=write is not one of copy, read")]
    [InlineData("resnet18", "onnx:cpu", "spin=sometimes", "setting spin=sometimes is not 1 or 0 (true/false, on/off)")]
    [InlineData("generate", "onnx:cpu", "weight_seed=-3", "setting weight_seed=-3 is not an integer of at least 0")]
    [InlineData("generate", $"openai:{Endpoint}", "timeout=0s", "setting timeout=0s is not a duration longer than zero")]
    [InlineData("generate", $"openai:{Endpoint}", "temperature=3", "setting temperature=3 is not a number from 0 to 2, or none")]
    public void A_bad_value_exits_2_before_anything_is_loaded(string workload, string backend, string setting, string expected)
    {
        (int code, string message) = Run(workload, backend, "--set", setting);
        Assert.Equal(2, code);
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.Contains("its settings: ", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_may_be_written_with_a_dash()
    {
        (int code, string message) = Run("minilm", "onnx:cpu", "--set", "sequence-length=abc");
        Assert.Equal(2, code);
        Assert.Contains("sequence-length=abc is not an integer of at least 8", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("onnx:cpu", "bogus=1",
        "LLM backend onnx:cpu has no setting 'bogus'; its settings: spin (flag), weight_seed (int), cuda_graph (flag), "
            + "quant_block (int 16..256), quant_zero_points (flag), accuracy_level (int 0..4), ort_profile (text).")]
    [InlineData("torch:cpu", "cuda_graph=1",
        "LLM backend torch:cpu has no setting 'cuda_graph'; its settings: spin (flag), weight_seed (int).")]
    [InlineData("latency-model", "spin=0", "LLM backend latency-model has no setting 'spin'; it takes no settings.")]
    public void Serve_checks_its_decoders_settings_before_it_builds_one(string backend, string setting, string expected)
    {
        (int code, _, string err) = CliRunner.Run(
            "serve", "--backend", backend, "--model-config", "tiny-gpt2-test", "--port", "0", "--set", setting);
        Assert.Equal(2, code);
        Assert.Equal($"harness: {expected}", Assert.Single(CliRunner.Messages(err)));
    }

    [Theory]
    [InlineData("onnx:cpu", "bogus=1", "LLM backend onnx:cpu has no setting 'bogus'")]
    [InlineData($"openai:{Endpoint}", "bogus=1", "openai:URL has no setting 'bogus'; its settings: model (text), api (chat|")]
    public void The_agents_llm_settings_are_checked_as_the_backends_own(string backend, string setting, string expected)
    {
        string profile = Path.Combine(CliRunner.RepoRoot, "profiles", "agents", "coding-agent.json");
        (int code, _, string err) = CliRunner.Run(
            "run", "agents", "--profile", profile, "--llm", backend, "--llm-set", setting, "--duration", "1s", "--results-dir", _dir);
        Assert.Equal(2, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
    }

    private (int Code, string Message) Run(string workload, string backend, params string[] extra)
    {
        (int code, _, string err) = CliRunner.Run(
            ["run", workload, "-b", backend, "--duration", "1s", "--warmup", "0s", "--results-dir", _dir, .. extra]);
        Assert.Empty(Directory.EnumerateFiles(_dir, "*", SearchOption.AllDirectories));
        return (code, Assert.Single(CliRunner.Messages(err)));
    }
}
