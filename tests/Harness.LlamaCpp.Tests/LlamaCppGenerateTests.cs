using System.Text.Json.Nodes;
using Harness.Metrics;

namespace Harness.LlamaCpp.Tests;

/// <summary>
/// <c>run generate --model FILE.gguf -b llamacpp:cpu</c> on a file written by <c>harness export</c>: the
/// same runner, metrics and result file as <c>onnx:cpu</c> on the same file, plus what ran (llama.cpp's
/// version, LLamaSharp's bundled build, the file's tensor types) and the load phase.
/// </summary>
public sealed class LlamaCppGenerateTests
{
    private const int Batch = 2, NewTokens = 5;

    [LlamaFact]
    public void Generate_writes_the_same_metrics_as_onnx_and_names_what_ran()
    {
        string gguf = TinyGguf.Export("tiny-llama-test");
        JsonObject llama = Run("llamacpp:cpu", gguf);
        JsonObject onnx = Run("onnx:cpu", gguf);

        JsonObject metrics = llama["metrics"]!.AsObject();
        long requests = (long)metrics["requests_ok"]!;
        Assert.True(requests >= 3, $"{requests} requests");
        Assert.Equal(requests * Batch * NewTokens, (long)metrics["output_units"]!);
        Assert.Equal(requests * NewTokens, (long)metrics["ttft_ms"]!["count"]! * NewTokens);
        foreach (string m in new[] { "prefill_tokens_per_s", "decode_tokens_per_s", "output_tokens_per_s", "bytes_per_decode_step" })
        {
            Assert.True((double)metrics[m]! > 0, m);
        }

        // Every metric onnx:cpu states, llamacpp:cpu states too (and none that it leaves null).
        JsonObject onnxMetrics = onnx["metrics"]!.AsObject();
        Assert.Equal(Stated(onnxMetrics), Stated(metrics));
        Assert.Equal(onnx["validity"]!.AsArray().Select(c => (string?)c!["name"]).Order(),
            llama["validity"]!.AsArray().Select(c => (string?)c!["name"]).Order());

        JsonObject config = llama["config"]!.AsObject();
        Assert.Contains("ggml 0.", (string?)config[ConfigKeys.LlamaCppVersion], StringComparison.Ordinal);
        Assert.Contains(LlamaRuntime.BundledCommit[..10], (string?)config[ConfigKeys.LlamaCppVersion], StringComparison.Ordinal);
        Assert.StartsWith(
            "LLamaSharp 0.30.0's bundled CPU build (LLamaSharp.Backend.Cpu 0.30.0)", (string?)config[ConfigKeys.LlamaCppBuild]);
        Assert.StartsWith("f32: ", (string?)config[ConfigKeys.LlamaCppTensorTypes]);
        Assert.Equal(1, (int)config[ConfigKeys.LlamaCppThreads]!);
        Assert.Equal("gguf", (string?)config[ConfigKeys.ModelFormat]);
        Assert.Equal("fp32", (string?)config[ConfigKeys.Dtype]);
        Assert.True((double)config[ConfigKeys.LoadSeconds]! > 0);
        Assert.True((long)config[ConfigKeys.LoadPeakRssBytes]! > 0);
        Assert.Equal(Batch * 16L, (long)config[ConfigKeys.PeakCacheTokens]!);
        Assert.Null(config[ConfigKeys.ModelDequantized]);
        Assert.Equal("0.30.0", (string?)llama["hardware"]!["packages"]!["llamasharp"]);
    }

    [LlamaFact]
    public void An_f16_file_runs_in_fp16_with_an_f16_cache()
    {
        JsonObject config = Run("llamacpp:cpu", TinyGguf.Export("tiny-llama-test", "fp16"))["config"]!.AsObject();

        Assert.Equal("fp16", (string?)config[ConfigKeys.Dtype]);
        Assert.Equal("f16", (string?)config[ConfigKeys.LlamaCppKvType]);
        Assert.StartsWith("f16: ", (string?)config[ConfigKeys.LlamaCppTensorTypes]);
    }

    private static SortedSet<string> Stated(JsonObject metrics) =>
        new(metrics.Where(m => m.Value is not null).Select(m => m.Key), StringComparer.Ordinal);

    [LlamaFact]
    public void A_q8_0_file_runs_as_stored_and_its_step_counts_the_files_bytes()
    {
        // llama.cpp's blocks need rows of whole 32s: tiny-llama-test with an intermediate of 192.
        string folder = TinyGguf.Scratch();
        string shape = Path.Combine(folder, "tiny-llama-192.json");
        File.WriteAllText(shape, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "models", "tiny-llama-test.json"))
            .Replace("\"intermediate\": 176", "\"intermediate\": 192", StringComparison.Ordinal)
            .Replace("\"tiny-llama-test\"", "\"tiny-llama-192\"", StringComparison.Ordinal));
        string q8 = Path.Combine(folder, "q8.gguf");
        (int code, _, string err) = TinyGguf.Cli("export", "--model-config", shape, "--format", "gguf", "--dtype", "q8_0", "--out", q8);
        Assert.True(code == 0, err);

        JsonObject result = Run("llamacpp:cpu", q8);
        JsonObject config = result["config"]!.AsObject();
        Assert.Null(config[ConfigKeys.ModelDequantized]);
        Assert.StartsWith("q8_0: ", (string?)config[ConfigKeys.LlamaCppTensorTypes]);
        // q8_0 is 34 bytes per 32 weights (8.5 bits); the norm gains, f32, add a little.
        Assert.InRange((double)config[ConfigKeys.QuantBitsPerWeight]!, 8.5, 8.5 * 1.05);
        double stepBytes = (double)result["metrics"]!["bytes_per_decode_step"]!;
        JsonObject fp32 = Run("llamacpp:cpu", TinyGguf.Export("tiny-llama-test"));
        // tiny-llama-test in f32 (intermediate 176, a little smaller) streams about 3.5 times as many bytes a step; before the
        // file's bytes were counted, the q8_0 file counted as fp32 and streamed more.
        Assert.True(stepBytes < (double)fp32["metrics"]!["bytes_per_decode_step"]! / 2.5, $"{stepBytes} bytes per q8_0 step");
    }

    private static JsonObject Run(string backend, string gguf)
    {
        string result = Path.Combine(TinyGguf.Scratch(), "result.json");
        (int code, _, string err) = TinyGguf.Cli("run", "generate", "-b", backend, "--model", gguf, "--batch", $"{Batch}",
            "--prompt-tokens", "11", "--new-tokens", $"{NewTokens}", "--threads", "1", "--duration", "1s", "--min-requests", "3",
            "--warmup", "0s", "--out", result);
        // Valid (0) or invalid (1: a busy shared host, or too few requests for a tail), never refused or failed.
        Assert.True(code is 0 or 1, $"{backend}: exit {code}: {err}");
        return (JsonObject)JsonNode.Parse(File.ReadAllText(result))!;
    }
}
