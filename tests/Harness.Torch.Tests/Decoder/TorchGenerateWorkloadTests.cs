using Harness.Backends;
using Harness.Decoding;
using Harness.Decoding.Sampling;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Measurement;
using Harness.Models;

namespace Harness.Torch.Tests.Decoder;

public class TorchGenerateWorkloadTests
{
    private static RunSettings Quick(int batch) => new()
    {
        Scenario = ScenarioParser.Parse("single"),
        Batch = batch,
        Warmup = WarmupRule.ForRequests(1),
        Stop = new StopRules(TimeSpan.Zero, 2, TimeSpan.FromMinutes(2)),
    };

    private static WorkloadOptions Options(params (string Key, string Value)[] settings) =>
        new() { Threads = 2, Extra = settings.ToDictionary(s => s.Key, s => s.Value) };

    private static IWorkload Generate(string backend, string model) =>
        new TorchBackendProvider().Create(GenerateWorkload.Name, BackendSpec.Parse(backend), new WorkloadOptions { Threads = 2, ModelConfig = ModelCatalog.Load(model), PromptTokens = 8, NewTokens = 4 });

    [TorchFact]
    public void Gpt2_124m_generates_end_to_end_on_cpu()
    {
        using IWorkload workload = Generate("torch:cpu", "gpt2-124m");
        EngineResult run = new BenchmarkEngine().Run(workload, Quick(batch: 2));
        Assert.Equal(0, run.Count(RequestOutcome.Error));
        Assert.True(run.Count(RequestOutcome.Ok) >= 2);
        Assert.Equal(run.Count(RequestOutcome.Ok) * 8, run.OutputUnits);
        Assert.Equal(run.Count(RequestOutcome.Ok) * 3, run.InterTokenLatency.Count);
        Assert.True(run.Derived.Single(m => m.Name == "decode_tokens_per_s").Value > 0);
        Assert.Contains("torch_device", run.Workload.Details.Keys);
        Assert.Equal("gpt2-124m", run.Workload.Details["model_config"]);
    }

    /// <summary>
    /// <c>run generate --set temperature=...</c> on torch:cpu and onnx:cpu: the same seeded sequences
    /// draw the same tokens on both backends, not greedy's, and the result says how it sampled.
    /// </summary>
    [TorchFact]
    public void Sampled_generate_runs_on_torch_and_onnx_and_draws_the_same_tokens()
    {
        var options = new WorkloadOptions
        {
            Threads = 2,
            ModelConfig = ModelCatalog.Load("tiny-gpt2-test"),
            PromptTokens = 8,
            NewTokens = 6,
            Extra = new Dictionary<string, string> { ["temperature"] = "0.9", ["top_p"] = "0.9", ["frequency_penalty"] = "0.4" },
        };
        long[][] Tokens(IBackendProvider provider, string backend, WorkloadOptions o)
        {
            using var workload = (GenerateWorkload)provider.Create(GenerateWorkload.Name, BackendSpec.Parse(backend), o);
            EngineResult run = new BenchmarkEngine().Run(workload, Quick(batch: 3));
            Assert.Equal(0, run.Count(RequestOutcome.Error));
            Assert.Equal(workload.RunSampling.Describe(), run.Workload.Details["sampling"]);
            return [.. Enumerable.Range(0, 3).Select(i => workload.Generated(i).ToArray())];
        }

        long[][] torch = Tokens(new TorchBackendProvider(), "torch:cpu", options);
        long[][] onnx = Tokens(new Harness.Onnx.OnnxBackendProvider(), "onnx:cpu", options);
        long[][] greedy = Tokens(new TorchBackendProvider(), "torch:cpu", options with { Extra = new Dictionary<string, string>() });

        Assert.Equal(onnx, torch);
        Assert.NotEqual(greedy, torch);
        Assert.StartsWith("temperature 0.9, top_p 0.9, frequency_penalty 0.4", SamplingSettings.From(options.Extra).Describe());
    }

    [TorchFact]
    public void Gemm_and_copy_report_achieved_rates()
    {
        // Each rate is the work of a request (from the workload's own details) over this run's median latency.
        using var gemm = new TorchGemmWorkload(BackendSpec.Parse("torch:cpu"), Options(("size", "256")));
        EngineResult g = new BenchmarkEngine().Run(gemm, Quick(1));
        Assert.Equal(1.0, g.Derived.Single(m => m.Name == "achieved_flops_per_s").Value!.Value * MedianSeconds(g) / Number(g, "flops_per_request"), 6);
        using var copy = new TorchCopyWorkload(BackendSpec.Parse("torch:cpu"), Options(("size_mib", "16")));
        EngineResult c = new BenchmarkEngine().Run(copy, Quick(1));
        Assert.Equal(1.0, c.Derived.Single(m => m.Name == "achieved_bytes_per_s").Value!.Value * MedianSeconds(c) / Number(c, "bytes_per_request"), 6);
        Assert.Equal(2.0 * (16 << 20) * Number(c, "repeats"), Number(c, "bytes_per_request"));
    }

    private static double MedianSeconds(EngineResult run) => Harness.Measurement.DistributionSummary.From(run.Latency)!.P50 / 1000;

    private static double Number(EngineResult run, string detail) => Convert.ToDouble(run.Workload.Details[detail], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Cuda_without_a_cuda_libtorch_is_one_sentence()
    {
        using IWorkload workload = Generate("torch:cuda", "tiny-gpt2-test");
        var e = Assert.Throws<HarnessException>(() => workload.Prepare(new WorkloadContext(1, 1, 1, default)));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.DoesNotContain("\n", e.Message);
    }
}
