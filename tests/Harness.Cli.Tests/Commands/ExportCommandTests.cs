using System.Text.Json;
using Harness.Testing;

namespace Harness.Cli.Tests.Commands;

/// <summary>
/// harness export, then run generate --model on what it wrote (the "done when"), and the
/// command line's answer to a bad model file: exit 2 and one sentence naming the file.
/// </summary>
public sealed class ExportCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-export-cli-").FullName;

    public ExportCommandTests()
    {
        TestCache.Ensure();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("hf", "")]
    [InlineData("gguf", ".gguf")]
    [InlineData("onnx", "")]
    public void An_exported_model_runs_with_run_generate_model_and_the_result_names_it(string format, string suffix)
    {
        string model = Path.Combine(_dir, "tl" + suffix);
        (int code, string output, string err) =
            CliRunner.Run("export", "--model-config", "tiny-llama-test", "--format", format, "--out", model);
        Assert.True(code == 0, err);
        Assert.Contains("wrote tiny-llama-test", output);

        string result = Path.Combine(_dir, $"r-{format}.json");
        (code, _, err) = CliRunner.Run(
            "run", "generate", "-b", "onnx:cpu", "--model", model, "--prompt-tokens", "4", "--new-tokens", "3", "--threads", "1",
            "--duration", "1s", "--warmup-requests", "0", "--min-requests", "2", SharedMachine.AllowNoisy, "-o", result);
        // 1 would be another validity condition on a loaded machine; the run itself completed and wrote its result.
        Assert.True(code is 0 or 1, err);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(result));
        JsonElement config = doc.RootElement.GetProperty("config");
        Assert.Equal(Path.GetFullPath(model), config.GetProperty("model_source").GetString());
        Assert.Equal(format, config.GetProperty("model_format").GetString());
        Assert.True(config.GetProperty("load_seconds").GetDouble() > 0);
        Assert.True(config.GetProperty("load_peak_rss_bytes").GetInt64() > 0);
    }

    [Fact]
    public void A_truncated_safetensors_file_exits_2_naming_it()
    {
        string model = Path.Combine(_dir, "tl");
        Assert.Equal(0, CliRunner.Run("export", "--model-config", "tiny-llama-test", "--format", "hf", "--out", model).Code);
        string file = Path.Combine(model, "model.safetensors");
        using (var s = new FileStream(file, FileMode.Open))
        {
            s.SetLength(s.Length / 2);
        }

        (int code, _, string err) = CliRunner.Run("run", "generate", "-b", "onnx:cpu", "--model", model, "--duration", "1s");
        Assert.Equal(2, code);
        string message = Assert.Single(CliRunner.Messages(err));
        Assert.Contains(file, message);
        Assert.Contains("truncated", message);
    }

    [Fact]
    public void An_onnx_folder_without_model_onnx_exits_2_naming_it()
    {
        string model = Path.Combine(_dir, "to");
        Assert.Equal(0, CliRunner.Run("export", "--model-config", "tiny-llama-test", "--format", "onnx", "--out", model).Code);
        File.Delete(Path.Combine(model, "model.onnx"));
        (int code, _, string err) = CliRunner.Run("run", "generate", "-b", "onnx:cpu", "--model", model, "--duration", "1s");
        Assert.Equal(2, code);
        Assert.Contains(Path.Combine(Path.GetFullPath(model), "model.onnx"), Assert.Single(CliRunner.Messages(err)));
    }

    [Theory]
    [InlineData("--format onnx --dtype bf16", "--dtype bf16 is not written to onnx")]
    [InlineData("--format tflite", "Unknown export format 'tflite'")]
    [InlineData("--format gguf --dtype bf16", "--dtype bf16 is not written to gguf")]
    [InlineData("--format hf --set spin=1", "weight_seed=N only")]
    public void Bad_export_options_exit_2(string options, string expected)
    {
        (int code, _, string err) = CliRunner.Run(
            ["export", "--model-config", "tiny-llama-test", "--out", Path.Combine(_dir, "x"), .. options.Split(' ')]);
        Assert.Equal(2, code);
        Assert.Contains(expected, err);
        Assert.False(Path.Exists(Path.Combine(_dir, "x")));
    }

    [Fact]
    public void An_spm_export_runs_and_the_result_names_its_tokenizer_and_a_bad_tokenizer_option_exits_2()
    {
        // tiny-llama-test with a vocabulary of 512: an SPM vocabulary needs 259 ids at least.
        string config = Path.Combine(_dir, "tl-512.json");
        string tiny = Path.Combine(Repository.Root, "models", "tiny-llama-test.json");
        var shape = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(tiny))!;
        shape["name"] = "tl-512";
        shape["vocab"] = 512;
        File.WriteAllText(config, shape.ToJsonString());
        string model = Path.Combine(_dir, "spm.gguf");
        (int code, _, string err) =
            CliRunner.Run("export", "--model-config", config, "--format", "gguf", "--tokenizer", "spm", "--out", model);
        Assert.True(code == 0, err);

        string result = Path.Combine(_dir, "r-spm.json");
        (code, _, err) = CliRunner.Run(
            "run", "generate", "-b", "onnx:cpu", "--model", model, "--prompt-tokens", "4", "--new-tokens", "3", "--threads", "1",
            "--duration", "1s", "--warmup-requests", "0", "--min-requests", "2", SharedMachine.AllowNoisy, "-o", result);
        Assert.True(code is 0 or 1, err);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(result));
        Assert.Contains("SentencePiece BPE", doc.RootElement.GetProperty("config").GetProperty("model_tokenizer").GetString());

        foreach ((string tokenizer, string expected) in new[] { ("spm", "at least 259"), ("wordpiece", "Unknown export tokenizer") })
        {
            (code, _, err) = CliRunner.Run(
                "export", "--model-config", "tiny-llama-test", "--format", "hf", "--tokenizer", tokenizer, "--out",
                Path.Combine(_dir, "y"));
            Assert.Equal(2, code);
            Assert.Contains(expected, err);
            Assert.False(Path.Exists(Path.Combine(_dir, "y")));
        }
    }

    [Fact]
    public void Model_and_model_config_together_exit_2()
    {
        (int code, _, string err) =
            CliRunner.Run("run", "generate", "--model", _dir, "--model-config", "tiny-llama-test", "--duration", "1s");
        Assert.Equal(2, code);
        Assert.Contains("not both", err);
    }
}
