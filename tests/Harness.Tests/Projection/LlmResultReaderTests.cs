using System.Text.Json;
using Harness.Projection;
using Harness.Results;

namespace Harness.Tests.Projection;

public class LlmResultReaderTests
{
    [Fact]
    public void Reads_the_fields_the_decoder_workloads_write()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H100, 95, 12, parameters: 8e9, batch: 4, powerW: 420);
        doc.Metrics.Extra!["mfu"] = 0.4;
        LlmRunFacts f = LlmResultReader.Read(doc, "x.json");

        Assert.Equal(SyntheticRuns.H100, f.GpuName);
        Assert.Equal((4, 512, 64, 1, "bf16"), (f.Batch, f.PromptTokens, f.NewTokens, f.TensorParallel, f.Dtype));
        Assert.Equal(new ModelShape(32, 4096, 32, 8, 128), f.Shape);
        Assert.Equal(8e9, f.Params);
        Assert.Equal(95, f.Ttft.P50);
        Assert.Equal(12 * 1.1, f.Tpot.P99, 9);
        Assert.Equal(420, f.AvgGpuPowerW);
        Assert.Equal(0.4, f.Mfu);
    }

    [Fact]
    public void Takes_the_power_the_telemetry_measured_on_a_cuda_backend()
    {
        ResultDocument gpu = SyntheticRuns.Llm(SyntheticRuns.H100, 95, 12);
        gpu.Backend = "torch:cuda";
        gpu.Metrics.AvgPowerW = 144;
        Assert.Equal(144, LlmResultReader.Read(gpu, "x.json").AvgGpuPowerW);

        // On a CPU backend, avg_power_w is the CPU package's: not a GPU's power.
        ResultDocument cpu = SyntheticRuns.Llm(SyntheticRuns.H100, 95, 12);
        cpu.Backend = "onnx:cpu";
        cpu.Metrics.AvgPowerW = 90;
        Assert.Null(LlmResultReader.Read(cpu, "x.json").AvgGpuPowerW);
    }

    [Fact]
    public void Reads_the_same_after_a_round_trip_through_the_file_format()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H100, 95, 12, modelConfig: new Dictionary<string, object?> { ["n_layer"] = 12, ["n_embd"] = 768, ["n_head"] = 12 });
        ResultDocument back = JsonSerializer.Deserialize<ResultDocument>(ResultJson.Serialize(doc), ResultJson.Options)!;
        LlmRunFacts f = LlmResultReader.Read(back, "x.json");

        Assert.Equal(new ModelShape(12, 768, 12, 12, 64), f.Shape);
        Assert.Equal(LlmResultReader.Read(doc, "x.json").OutputTokensPerS, f.OutputTokensPerS);
    }

    [Fact]
    public void A_result_without_token_latencies_is_bad_input()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H100, 95, 12);
        doc.Metrics.TpotMs = null;
        var e = Assert.Throws<HarnessException>(() => LlmResultReader.Read(doc, "resnet.json"));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("needs an LLM decode result", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_shape_fields_are_named()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H100, 95, 12);
        doc.Config.Remove("batch");
        doc.Config.Remove("new_tokens");
        var e = Assert.Throws<HarnessException>(() => LlmResultReader.Read(doc, "x.json"));
        Assert.Contains("lacks config batch, new_tokens", e.Message, StringComparison.Ordinal);

        doc = SyntheticRuns.Llm(SyntheticRuns.H100, 95, 12);
        doc.Config.Remove("params");
        e = Assert.Throws<HarnessException>(() => LlmResultReader.Read(doc, "x.json"));
        Assert.Contains("params", e.Message, StringComparison.Ordinal);
    }
}
