using System.Text.Json;
using System.Text.RegularExpressions;
using Harness.Cli.Commands;
using Harness.Decoding;

namespace Harness.Cli.Tests.Commands;

public class InfoCommandsTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("run", "--help")]
    [InlineData("list", "--help")]
    [InlineData("hw", "--help")]
    [InlineData("doctor", "--help")]
    public void Every_command_has_help(params string[] args)
    {
        (int code, string output, _) = CliRunner.Run(args);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Decoder: ", ", or latency-model", "serve", "--help")]
    [InlineData("a real decoder: ", " (model from", "run", "agents", "--help")]
    [InlineData("a real decoder: ", " (model from", "agents", "sweep", "--help")]
    public void Help_names_the_decoder_backends_of_the_registry(string before, string after, params string[] args)
    {
        string names = string.Join(", ", DecoderBackends.Names(HarnessCli.CreateRegistry()));
        Assert.StartsWith("onnx:cpu, ", names, StringComparison.Ordinal);

        (int code, string output, _) = CliRunner.Run(args);

        Assert.Equal(0, code);
        string text = Regex.Replace(output, @"\s+", " "); // help wraps long descriptions
        Assert.Contains(before + names + after, text, StringComparison.Ordinal);
        Assert.DoesNotContain(RegistryHelp.DecoderNames, text, StringComparison.Ordinal);
    }

    [Fact]
    public void List_names_workloads_and_whether_each_backend_is_usable()
    {
        (int code, string output, _) = CliRunner.Run("list");
        Assert.Equal(0, code);
        Assert.Contains("resnet18", output, StringComparison.Ordinal);
        Assert.Contains("minilm", output, StringComparison.Ordinal);
        Assert.Contains("onnx:cpu     usable", output, StringComparison.Ordinal);
        Assert.Contains("onnx:cuda", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Hw_prints_the_fingerprint_as_json()
    {
        (int code, string output, _) = CliRunner.Run("hw");
        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(output);
        Assert.True(doc.RootElement.GetProperty("cpu").GetProperty("logical_cores").GetInt32() >= 1);
        Assert.Equal("1.32.0", doc.RootElement.GetProperty("packages").GetProperty("onnxruntime").GetString());
        Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("gpus").ValueKind);
    }

    [Fact]
    public void Hw_label_names_the_folder_a_run_writes_to()
    {
        using var dir = new Harness.Testing.SyntheticResults.TempFolder();
        (int code, string label, _) = CliRunner.Run("hw", "--label");
        (int runCode, _, string err) = CliRunner.Run("run", "resnet18", "--scenario", "offline", "-d", "0s", "--min-requests", "1", "--warmup", "0s", "--threads", "1", "--results-dir", dir.Path);

        Assert.Equal(0, code);
        Assert.Matches("^(cpu-[a-z0-9-]+-(amx|avx512|avx2|sve|base)-[0-9]+c|[a-z0-9-]+-x[0-9]+)$", label.Trim());
        Assert.True(runCode is 0 or 1, err);
        Assert.Single(Directory.GetFiles(Path.Combine(dir.Path, label.Trim()), "resnet18_onnx-cpu_offline_*.json"));
    }

    [Fact]
    public void Doctor_passes_on_the_cpu_path_and_explains_each_failure()
    {
        (int code, string output, _) = CliRunner.Run("doctor");
        Assert.Equal(0, code);
        Assert.Contains("ok   onnx:cpu", output, StringComparison.Ordinal);
        // Where each part was found: the app and its runtime, the models, ONNX Runtime's library.
        Assert.Contains($"ok   harness      build of the clone {Harness.Testing.Repository.Root}", output, StringComparison.Ordinal);
        Assert.Contains("ok   models       ResNet-18 and MiniLM in ", output, StringComparison.Ordinal);
        Assert.Contains("libonnxruntime.so)", output, StringComparison.Ordinal);
        Assert.Contains(" torch-compat ", output, StringComparison.Ordinal);
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("FAIL", StringComparison.Ordinal)))
        {
            Assert.True(line.Length > 30, $"a failure should say what to do: {line}");
        }
    }
}
