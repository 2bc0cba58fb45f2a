using System.Text.Json;

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
        Assert.Equal("1.31.0", doc.RootElement.GetProperty("packages").GetProperty("onnxruntime").GetString());
        Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("gpus").ValueKind);
    }

    [Fact]
    public void Doctor_passes_on_the_cpu_path_and_explains_each_failure()
    {
        (int code, string output, _) = CliRunner.Run("doctor");
        Assert.Equal(0, code);
        Assert.Contains("ok   onnx:cpu", output, StringComparison.Ordinal);
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("FAIL", StringComparison.Ordinal)))
        {
            Assert.True(line.Length > 30, $"a failure should say what to do: {line}");
        }
    }
}
