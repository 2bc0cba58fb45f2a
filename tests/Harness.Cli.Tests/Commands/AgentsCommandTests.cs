using System.Text.Json;
using Harness.Agents.Reporting;
using Harness.Results;
using Harness.Testing;
using Harness.Torch.Tests;

namespace Harness.Cli.Tests.Commands;

/// <summary><c>harness run agents</c> and <c>harness agents sweep</c> end to end, with real tools for a second or two.</summary>
public class AgentsCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-cli-agents-").FullName;

    public AgentsCommandTests()
    {
        File.WriteAllText(Profile, """
            { "name": "tiny", "agents": 3, "max_batch": 4, "turns": 4, "initial_prompt_tokens": 100, "decode_tokens": 3,
              "tool_calls_per_turn": 1, "tools": [ { "tool": "grep", "args": { "corpus_kb": 64 } }, { "tool": "json", "args": { "records": 20 } } ] }
            """);
    }

    private string Profile => Path.Combine(_dir, "tiny.json");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A short agent run with a real tiny decoder as the LLM: a valid file whose LLM did real work.</summary>
    private ResultDocument RunOnDecoder(string backend)
    {
        UseTestCache();
        string path = Path.Combine(_dir, backend.Replace(':', '-') + ".json");
        (int code, string output, string err) = CliRunner.Run(
            "run", "agents", "--profile", Profile, "--workers", "1", "--duration", "2s", "--warmup", "0.3s", "--min-turns", "1",
            "--llm", backend, "--llm-set", "model_config=tiny-gpt2-test", "--llm-set", "threads=1", "--llm-set", "context=truncate-oldest",
            SharedMachine.AllowNoisy, "--out", path);

        Assert.True(File.Exists(path), $"exit {code}\n{output}\n{err}");
        Assert.Empty(ResultSchema.Validate(File.ReadAllText(path)));
        ResultDocument doc = ResultReader.ReadDocument(path);
        MachineSpeed.AssertValidButForSampleCounts(doc, code, $"{output}\n{err}");
        Assert.Equal(("agents", backend), (doc.Workload, doc.Backend));
        Assert.Equal("tiny-gpt2-test", ((JsonElement)doc.Config["model_config"]!).GetString());
        Assert.Equal($"{backend} tiny-gpt2-test fp32", ((JsonElement)doc.Config["llm_backend"]!).GetString());
        Assert.True(doc.Agents!.LlmBusyFraction > 0);
        Assert.True(doc.Agents!.OutputTokens > 0);
        // The tiny model's 128 positions hold no conversation of this profile: the policy trims, and the result names it.
        Assert.Equal("truncate-oldest", ((JsonElement)doc.Config["context_policy"]!).GetString());
        Assert.Equal(128, doc.Agents!.Context!.ContextTokens);
        Assert.True(doc.Agents!.Context!.TrimmedSteps > 0);
        return doc;
    }

    /// <summary>A private model cache: the tiny decoder is generated (or reused) there, never in the user's cache.</summary>
    private static void UseTestCache()
    {
        string cache = Path.Combine(Path.GetTempPath(), "harness-test-cache");
        Directory.CreateDirectory(cache);
        Environment.SetEnvironmentVariable("HARNESS_CACHE", cache);
    }

    [Fact]
    public void Run_agents_writes_a_valid_result_with_an_agents_section()
    {
        string path = Path.Combine(_dir, "run.json");
        (int code, string output, string err) = CliRunner.Run(
            "run", "agents", "--profile", Profile, "--workers", "2", "--duration", "1.5s", "--warmup", "0.2s", "--min-turns", "1",
            "--llm-ttft-ms", "3", "--llm-tpot-ms", "1", "--price", "4/gpu-h", SharedMachine.AllowNoisy, "--out", path);

        Assert.True(File.Exists(path), $"exit {code}\n{output}\n{err}");
        Assert.Empty(ResultSchema.Validate(File.ReadAllText(path)));
        ResultDocument doc = ResultReader.ReadDocument(path);
        Assert.Equal(("agents", "latency-model", 1), (doc.Workload, doc.Backend, doc.SchemaVersion));
        // Valid but for how many turns fit in the window, which is this machine's speed (the default
        // minimum of 20 turns is the validity rule's, tested on the simulated clock; p90's 44 samples
        // are the tail rule's, tested in the validity rules' tests).
        MachineSpeed.AssertValidButForSampleCounts(doc, code, $"{output}\n{err}");
        Assert.True(doc.Agents!.Turns >= 1);
        // The LLM device stands for one GPU: 4 $/GPU-h is charged once, and a job costs 4 / jobs per hour
        // (written to 6 decimals: within 5e-7 of it; rounding both sides to 5 decimals failed near a rounding edge).
        Assert.Equal(4.0 / doc.Agents!.JobsPerHour, doc.Metrics.Value(Harness.Metrics.MetricCatalog.UsdPerJob)!.Value, 1e-6);
        Assert.True(doc.Metrics.Extra!.ContainsKey("llm_busy_fraction"));
        Assert.Equal("harness run agents --profile", ((JsonElement)doc.Config["command_line"]!).GetString()![..28]);
        Assert.Contains("LLM busy", output, StringComparison.Ordinal);
        Assert.Contains("| grep |", output, StringComparison.Ordinal);

        // harness cost on the agent result: $/Mtok and $/job under another price.
        (int costCode, string costOutput, string costError) = CliRunner.Run("cost", path, "--price", "8/gpu-h");
        Assert.True(costCode == 0, costError);
        Assert.Contains("$/job", costOutput, StringComparison.Ordinal);
        Assert.Contains("$/Mtok", costOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Sweep_writes_the_curve_and_the_cores_per_gpu()
    {
        string folder = Path.Combine(_dir, "sweep");
        (int code, string output, string err) = CliRunner.Run(
            "agents", "sweep", "--profile", Profile, "--workers", "1", "--duration", "1s", "--warmup", "0.2s",
            "--llm-ttft-ms", "3", "--llm-tpot-ms", "1", "--card", "h100-gpt2", "--price", "2/gpu-h", SharedMachine.AllowNoisy, "--out", folder);

        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        string path = Path.Combine(folder, ResultReader.AgentSweepFileName);
        // The point is a run result of its own (the one reader reads the folder), priced like every run.
        ResultDocument point = Assert.Single(ResultReader.ReadAll(folder)).Document;
        Assert.Equal("agents", point.Workload);
        Assert.NotNull(point.Metrics.Value(Harness.Metrics.MetricCatalog.UsdPerJob));
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(path));
        Assert.True(json.RootElement.TryGetProperty("cores_per_gpu_for_90pct_busy", out _));
        AgentSweepDocument doc = AgentSweepJson.Read(path);
        Assert.Equal(point.Metrics.Value(Harness.Metrics.MetricCatalog.UsdPerJob), Assert.Single(doc.Points).UsdPerJob);
        Assert.Equal("h100-gpt2", Assert.Single(doc.Projections).Card);
        Assert.Contains("cores_per_gpu_for_90pct_busy", output, StringComparison.Ordinal);
        Assert.Contains("workers    1", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_agents_on_a_real_onnx_cpu_decoder_interleaves_tools_and_decode_steps()
    {
        ResultDocument doc = RunOnDecoder("onnx:cpu");
        Assert.Equal("CPUExecutionProvider", ((JsonElement)doc.Config["execution_provider"]!).GetString());
        Assert.True(doc.Agents!.Tools.Values.Sum(t => t.Calls) > 0);
        Assert.True(doc.Agents!.PrefillTokens > 0);
        // The one decoder generate and serve run too: steps join a running batch, and the cache's peak is in the result.
        Assert.Contains("continuous batching", ((JsonElement)doc.Config["step_decoder"]!).GetString());
        Assert.True(((JsonElement)doc.Config["peak_cache_tokens"]!).GetInt64() > 0);
    }

    /// <summary>The agents take their LLM from the same backend providers as generate: TorchSharp too.</summary>
    [TorchFact]
    public void Run_agents_on_a_torch_cpu_decoder()
    {
        ResultDocument doc = RunOnDecoder("torch:cpu");
        Assert.True(doc.Config.ContainsKey("torch_device"));
    }

    /// <remarks>1 s of warm-up and 2 s measured per point, as AgentsOverHttpTests' sweep: each point must see its LLM busy.</remarks>
    [Fact]
    public void Sweep_on_a_real_onnx_cpu_decoder_loads_it_once_and_measures_each_point()
    {
        UseTestCache();
        string path = Path.Combine(_dir, "sweep-onnx.json");
        (int code, string output, string err) = CliRunner.Run(
            "agents", "sweep", "--profile", Profile, "--workers", "1,2", "--duration", "2s", "--warmup", "1s",
            "--llm", "onnx:cpu", "--llm-set", "model_config=tiny-gpt2-test", "--llm-set", "threads=1",
            "--llm-set", "context=truncate-oldest", SharedMachine.AllowNoisy, "--out", path);

        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        AgentSweepDocument doc = AgentSweepJson.Read(path);
        Assert.Equal("onnx:cpu tiny-gpt2-test fp32", doc.Llm);
        Assert.Equal([1, 2], doc.Points.Select(p => p.Workers));
        Assert.All(doc.Points, p => Assert.True(p.LlmBusyFraction > 0));
    }

    [Theory]
    [InlineData("--llm-ttft-ms 5", "go together")]
    [InlineData("--llm-result nope.json", "does not exist")]
    [InlineData("--llm-batching eager", "neither continuous nor static")]
    [InlineData("--llm onnx:tpu", "Unknown LLM backend 'onnx:tpu'")]
    [InlineData("--llm tpu:x", "known here: latency-model, onnx:cpu, onnx:cuda, torch:cpu, torch:cuda")]
    [InlineData("--llm onnx:cpu --llm-set dtype=int3", "Unknown dtype 'int3'")]
    [InlineData("--llm onnx:cpu --llm-set threads=0", "--llm-set threads '0' must be an integer of at least 1")]
    [InlineData("--llm-set model_config=gpt2-124m", "--llm-set is for a decoder backend")]
    [InlineData("--llm onnx:cpu --llm-set model_config=llama-70b", "nothing was allocated")]
    [InlineData("--agents 0", "must each be at least 1")]
    [InlineData("--llm onnx:cpu --llm-set context=sometimes", "context=sometimes must be refuse (the default) or truncate-oldest")]
    [InlineData("--llm-set context=truncate-oldest", "not the latency model")]
    [InlineData("--llm onnx:cpu --llm-set model_config=tiny-gpt2-test", "its requests reach 24688 tokens")]
    public void Bad_agent_options_are_one_sentence_and_exit_2(string extra, string expected)
    {
        (int code, _, string err) = CliRunner.Run(["run", "agents", "--profile", Profile, "--duration", "1s", .. extra.Split(' ')]);
        Assert.Equal(2, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
    }

    /// <summary>An in-process decoder knows its context from its model config: a profile that cannot fit is refused.</summary>
    [Fact]
    public void A_decoder_whose_model_cannot_hold_the_profile_is_refused_with_both_numbers()
    {
        (int code, _, string err) = CliRunner.Run(
            "run", "agents", "--profile", Profile, "--duration", "1s", "--llm", "onnx:cpu", "--llm-set", "model_config=tiny-gpt2-test");
        Assert.Equal(2, code);
        Assert.Contains("its requests reach 24688 tokens", err, StringComparison.Ordinal);
        Assert.Contains("(max_positions of tiny-gpt2-test) is 128 tokens", err, StringComparison.Ordinal);
        Assert.Contains("--llm-set context=truncate-oldest", err, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_profile_lists_the_known_ones()
    {
        (int code, _, string err) = CliRunner.Run("run", "agents", "--profile", "no-such-mix");
        Assert.Equal(2, code);
        Assert.Contains("coding-agent", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Profiles_lists_profiles_and_tools()
    {
        (int code, string output, _) = CliRunner.Run("agents", "profiles");
        Assert.Equal(0, code);
        Assert.Contains("coding-agent", output, StringComparison.Ordinal);
        Assert.Contains("embed", output, StringComparison.Ordinal);
    }
}
