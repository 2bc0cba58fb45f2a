namespace Harness.Cli.Tests.Commands;

/// <summary>Bad input to the decoder workloads: one sentence on stderr, exit code 2, nothing measured.</summary>
public class GenerateCommandTests
{
    [Theory]
    [InlineData("onnx:cpu", "no-such-model", "Unknown model config 'no-such-model'")]
    [InlineData("onnx:cpu", "llama-70b", "nothing was allocated")]
    [InlineData("torch:cpu", "no-such-model", "")]
    public void Bad_model_configs_exit_2_with_one_sentence(string backend, string model, string expected)
    {
        string outFile = Path.Combine(Path.GetTempPath(), $"gen-{Guid.NewGuid():N}.json");
        (int code, _, string err) = CliRunner.Run("run", "generate", "-b", backend, "--model-config", model, "--duration", "1s", "-o", outFile);
        Assert.Equal(2, code);
        string message = Assert.Single(CliRunner.Messages(err));
        Assert.StartsWith("harness: ", message);
        Assert.Contains(expected, message);
        Assert.False(File.Exists(outFile));
    }

    [Theory]
    [InlineData("--dtype int3", "Unknown dtype 'int3'")]
    [InlineData("--new-tokens 0", "--new-tokens must be at least 1")]
    [InlineData("--set prompt_tokens=8", "--set prompt_tokens is an option of its own: use --prompt-tokens 8")]
    [InlineData("--set dtype=bf16", "use --dtype bf16")]
    public void Typed_options_are_checked_when_parsed(string options, string expected)
    {
        (int code, _, string err) = CliRunner.Run(["run", "generate", "--model-config", "tiny-gpt2-test", "--duration", "1s", .. options.Split(' ')]);
        Assert.Equal(2, code);
        Assert.Contains(expected, err);
    }

    /// <summary>Weight-only quantization refused where it cannot run: torch by name, a block that does not divide a width, gemm.</summary>
    [Theory]
    [InlineData("torch:cpu", "generate", "--dtype int4", "is not supported by generate on torch:cpu, which takes fp32")]
    [InlineData("onnx:cpu", "generate", "--dtype int4", "quant_block=32 does not divide tiny-llama-test's intermediate size (176)")]
    [InlineData("onnx:cpu", "generate", "--dtype int8 --set quant_block=48", "quant_block=48 must be a power of two")]
    [InlineData("onnx:cpu", "gemm", "--dtype int4", "is not supported by gemm on onnx:cpu, which takes fp32, fp16 or bf16")]
    [InlineData("onnx:cpu", "generate", "--dtype fp8 --set quant_block=16 --prompt-tokens 8 --new-tokens 4", "--dtype fp8 needs onnx:cuda")]
    [InlineData("torch:cpu", "generate", "--dtype fp8", "is not supported by generate on torch:cpu")]
    [InlineData("onnx:cpu", "generate", "--dtype fp8 --set accuracy_level=4", "--dtype fp8 takes no --set quant_zero_points or")]
    public void Quantized_weights_are_refused_with_one_sentence(string backend, string workload, string options, string expected)
    {
        (int code, _, string err) = CliRunner.Run(
            ["run", workload, "-b", backend, "--model-config", "tiny-llama-test", "--duration", "1s", .. options.Split(' ')]);
        Assert.Equal(2, code);
        Assert.Contains(expected, Assert.Single(CliRunner.Messages(err)));
    }

    [Fact]
    public void Inconsistent_shapes_in_a_user_config_exit_2()
    {
        string path = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """
            { "name": "bad", "architecture": "llama", "hidden": 100, "intermediate": 128, "layers": 2,
              "heads": 3, "kv_heads": 1, "vocab": 100, "max_positions": 64 }
            """);
        try
        {
            (int code, _, string err) = CliRunner.Run("run", "generate", "--model-config", path, "--duration", "1s");
            Assert.Equal(2, code);
            Assert.Contains("heads (3) must divide hidden (100)", err);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
