using System.Text.Json;
using Harness.Metrics;
using Harness.Projection;
using Harness.Results;
using Harness.Testing;

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

    [Fact]
    public void The_harness_s_own_result_is_read_typed_by_its_catalog_keys()
    {
        string path = Path.Combine(Repository.ResultFixtures, "nvidia-h200-x1", "decoders", "torch-generate-llama-1b-b16.json");
        ResultDocument doc = ResultReader.ReadDocument(path);
        Assert.False(ForeignResultImporter.IsForeign(doc));

        LlmRunFacts f = LlmResultReader.Read(doc, path);

        Assert.Equal((16, 128, 128, 1, "bf16"), (f.Batch, f.PromptTokens, f.NewTokens, f.TensorParallel, f.Dtype));
        Assert.Equal(1100048384, f.Params);
        Assert.Equal("llama-1b", f.ModelName);
        Assert.Equal(doc.Metrics.Value(MetricCatalog.Mfu), f.Mfu);
        Assert.Equal(doc.Metrics.AvgPowerW, f.AvgGpuPowerW);
        Assert.NotNull(f.Shape);

        // An alias of another tool means nothing in the harness's own file: the catalog key is missing.
        doc.Config["batch_size"] = doc.Config[ConfigKeys.Batch];
        doc.Config.Remove(ConfigKeys.Batch);
        var e = Assert.Throws<HarnessException>(() => LlmResultReader.Read(doc, "own.json"));
        Assert.Contains("lacks config batch;", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_another_tool_wrote_goes_through_the_importer_and_its_aliases()
    {
        using var dir = new SyntheticResults.TempFolder();
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H100, 95, 12);
        doc.HarnessVersion = "proxy";
        doc.Config = new Dictionary<string, object?>
        {
            ["batch_size"] = 4,
            ["prompt_len"] = 256,
            ["max_new_tokens"] = 32,
            ["n_params"] = 7e9,
            ["tensor_parallel"] = 2,
            ["kv_cache_dtype"] = "fp8",
            ["model_config"] = SyntheticRuns.LlamaConfig(),
        };
        doc.Metrics.Extra!["gpu_power_w_mean"] = 512.5;
        string path = Path.Combine(dir.Path, "proxy.json");
        File.WriteAllText(path, ResultJson.Serialize(doc));

        ResultDocument read = ResultReader.ReadDocument(path);
        Assert.True(ForeignResultImporter.IsForeign(read));
        LlmRunFacts f = LlmResultReader.Read(read, path);

        Assert.Equal((4, 256, 32, 2, "fp8"), (f.Batch, f.PromptTokens, f.NewTokens, f.TensorParallel, f.KvDtype));
        Assert.Equal(7e9, f.Params);
        Assert.Equal(512.5, f.AvgGpuPowerW);
        Assert.Equal(new ModelShape(32, 4096, 32, 8, 128), f.Shape);
        string proxy = Path.Combine(Repository.ResultFixtures, "nvidia-h200-x1", "decode-proxy_llama-8b_bs8.json");
        Assert.True(ForeignResultImporter.IsForeign(ResultReader.ReadDocument(proxy)));
    }
}
