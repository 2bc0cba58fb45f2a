using Harness.Backends;
using Harness.Decoding;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Measurement;
using Harness.Models;
using Harness.Onnx.Ceilings;
using Harness.Onnx.Decoder;
using Harness.Results;

namespace Harness.Onnx.Tests.Decoder;

public class GenerateWorkloadTests
{
    private static RunSettings Quick(int batch) => new()
    {
        Scenario = ScenarioParser.Parse("single"),
        Batch = batch,
        Warmup = WarmupRule.ForRequests(1),
        Stop = new StopRules(TimeSpan.Zero, 2, TimeSpan.FromMinutes(2)),
    };

    private static WorkloadOptions Options(string model = "gpt2-124m", int? prompt = null, int? newTokens = null, params (string Key, string Value)[] settings) =>
        new() { Threads = 2, ModelConfig = ModelCatalog.Load(model), PromptTokens = prompt, NewTokens = newTokens, Extra = settings.ToDictionary(s => s.Key, s => s.Value) };

    private static IWorkload Generate(string backend, WorkloadOptions options) => new OnnxBackendProvider().Create(GenerateWorkload.Name, BackendSpec.Parse(backend), options);

    [Fact]
    public void Gpt2_124m_generates_end_to_end_on_cpu_with_decoder_metrics()
    {
        DecoderTestSupport.EnsureCache();
        using IWorkload workload = Generate("onnx:cpu", Options("gpt2-124m", prompt: 8, newTokens: 4));
        EngineResult run = new BenchmarkEngine().Run(workload, Quick(batch: 2));
        ResultDocument doc = ResultBuilder.Build(run, "generate", "onnx:cpu", null);

        Assert.Equal(0, doc.Metrics.RequestsFailed);
        Assert.True(doc.Metrics.RequestsOk >= 2);
        Assert.Equal("tokens", doc.Metrics.ThroughputUnit);
        Assert.Equal(doc.Metrics.RequestsOk * 2 * 4, doc.Metrics.OutputUnits);
        Assert.Equal(doc.Metrics.RequestsOk * 2 * 8, doc.Metrics.InputUnits);
        Assert.NotNull(doc.Metrics.TtftMs);
        Assert.NotNull(doc.Metrics.TpotMs);
        Assert.Equal(doc.Metrics.RequestsOk * 3, doc.Metrics.ItlMs!.Count);
        Dictionary<string, object?> extra = doc.Metrics.Extra!;
        Assert.True((double)extra["prefill_tokens_per_s"]! > 0);
        Assert.True((double)extra["decode_tokens_per_s"]! > 0);
        // The decode bandwidth is its definition applied to this run (bytes of a step / mean TPOT), not a speed that held on one machine.
        double stepBytes = run.Derived.Single(m => m.Name == "bytes_per_decode_step").Value!.Value;
        double tpotS = DistributionSummary.From(run.TimePerOutputToken)!.Mean / 1000;
        Assert.Equal(1.0, (double)extra["decode_bytes_per_s"]! / (stepBytes / tpotS), 6);
        Assert.Null(extra["mbu"]); // no catalog peak for a CPU
        Assert.Contains("mbu", doc.MetricDefinitions.Keys);
        Assert.Equal(124_439_808L, doc.Config["parameters"]);
        Assert.Equal("CPUExecutionProvider", doc.Config["execution_provider"]);
        Assert.Equal(false, doc.Config["cuda_graph"]);
        Assert.Equal([2, 8, 4], new[] { "batch", "prompt_tokens", "new_tokens" }.Select(k => (int)doc.Config[k]!));
    }

    [Fact]
    public void Llama_70b_is_refused_before_anything_is_generated_or_allocated()
    {
        DecoderTestSupport.EnsureCache();
        using IWorkload workload = Generate("onnx:cpu", Options("llama-70b"));
        var e = Assert.Throws<HarnessException>(() => workload.Prepare(new WorkloadContext(1, 1, 42, default)));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("nothing was allocated", e.Message);
        Assert.False(Directory.Exists(DecoderModelCache.FolderFor(ModelCatalog.Load("llama-70b"), TensorDType.Float32, GenerateSettings.DefaultWeightSeed)));
    }

    [Theory]
    [InlineData(null, 0, null, "--new-tokens must be at least 1")]
    [InlineData(1000, null, null, "exceed gpt2-124m's max_positions")]
    [InlineData(null, null, "1", "cuda_graph=1 needs onnx:cuda")]
    [InlineData(null, null, "maybe", "setting cuda_graph=maybe is not 1 or 0")]
    public void Bad_options_fail_when_the_workload_is_created(int? prompt, int? newTokens, string? cudaGraph, string expected)
    {
        WorkloadOptions options = Options("gpt2-124m", prompt, newTokens ?? 100, cudaGraph is null ? [] : [("cuda_graph", cudaGraph)]);
        var e = Assert.Throws<HarnessException>(() => Generate("onnx:cpu", options));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Gemm_and_copy_report_achieved_rates()
    {
        // Each rate is the work of a request over this run's median latency: the work is known
        // (2 x 256^3 FLOP; 2 x 16 MiB read and written), the latency is what this machine took.
        using var gemm = new OnnxGemmWorkload(BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 2, Extra = new Dictionary<string, string> { ["size"] = "256" } });
        EngineResult g = new BenchmarkEngine().Run(gemm, Quick(1));
        Assert.Equal(2.0 * 256 * 256 * 256 * Number(g, "repeats"), Number(g, "flops_per_request"));
        Assert.Equal(1.0, g.Derived.Single(m => m.Name == "achieved_flops_per_s").Value!.Value * MedianSeconds(g) / Number(g, "flops_per_request"), 6);

        using var copy = new OnnxCopyWorkload(BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 2, Extra = new Dictionary<string, string> { ["size_mib"] = "16" } });
        EngineResult c = new BenchmarkEngine().Run(copy, Quick(1));
        Assert.Equal(2.0 * (16 << 20) * Number(c, "repeats"), Number(c, "bytes_per_request"));
        Assert.Equal(1.0, c.Derived.Single(m => m.Name == "achieved_bytes_per_s").Value!.Value * MedianSeconds(c) / Number(c, "bytes_per_request"), 6);
    }

    private static double MedianSeconds(EngineResult run) => DistributionSummary.From(run.Latency)!.P50 / 1000;

    private static double Number(EngineResult run, string detail) => Convert.ToDouble(run.Workload.Details[detail], System.Globalization.CultureInfo.InvariantCulture);
}
