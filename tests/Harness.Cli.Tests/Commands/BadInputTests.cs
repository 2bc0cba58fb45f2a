namespace Harness.Cli.Tests.Commands;

/// <summary>Every kind of bad input: one sentence on stderr, exit 2, no stack trace, no file written.</summary>
public class BadInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-cli-bad-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string[], string> Cases => new()
    {
        { ["run", "nosuch"], "Unknown workload 'nosuch'" },
        { ["run", "resnet18", "--bogus"], "--bogus" },
        { ["run", "resnet18", "--duration", "3 parsecs"], "is not a duration" },
        { ["run", "resnet18", "--warmup", "-1s"], "is not a duration" },
        { ["run", "resnet18", "--scenario", "warp"], "Unknown scenario 'warp'" },
        { ["run", "resnet18", "--backend", "tpu:x"], "Unknown backend runtime 'tpu'" },
        { ["run", "resnet18", "--backend", "onnx"], "is not of the form runtime:device" },
        { ["run", "resnet18", "--backend", "onnx:cuda"], "is not usable here" },
        { ["run", "resnet18", "--batch", "4"], "fixed batch size of 1" },
        { ["run", "resnet18", "--batch", "0"], "--batch must be at least 1" },
        { ["run", "resnet18", "--optimization", "max"], "Unknown graph optimization level" },
        { ["run", "onnx-file"], "needs --model" },
        { ["run", "onnx-file", "--model", "/nonexistent/model.onnx"], "does not exist" },
        { ["run", "onnx-file", "--model", "RESNET", "--shape", "Input247=1x3x100x100"], "does not fit input 'Input247'" },
        { ["run", "onnx-file", "--model", "RESNET", "--shape", "nope=1x2"], "does not have" },
        { ["run", "onnx-file", "--model", "RESNET", "--shape", "Input247=1xAx3"], "not a positive integer" },
        { ["run", "resnet18", "--tail", "p100"], "strictly between 0 and 100" },
        { ["run", "resnet18", "--duration", "10s", "--max-duration", "5s"], "--max-duration must not be shorter" },
        { ["run", "resnet18", "--server-pid", "0"], "--server-pid must be a process id" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_input_is_one_sentence_and_exit_code_2(string[] args, string expected)
    {
        string resnet = Path.Combine(AppContext.BaseDirectory, "models", "ResNet18.onnx");
        string[] full = [.. args.Select(a => a == "RESNET" ? resnet : a), "--results-dir", _dir, "--duration", "1s", "--warmup", "0s"];
        if (args.Contains("--duration") || args.Contains("--warmup"))
        {
            full = [.. args.Select(a => a == "RESNET" ? resnet : a), "--results-dir", _dir];
        }

        (int code, string _, string err) = CliRunner.Run(full);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.Single(CliRunner.Messages(err));
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_corrupt_model_file_is_bad_input()
    {
        string model = Path.Combine(_dir, "corrupt.onnx");
        File.WriteAllBytes(model, [1, 2, 3, 4, 5, 6, 7, 8]);
        string results = Path.Combine(_dir, "results");
        (int code, _, string err) = CliRunner.Run("run", "onnx-file", "--model", model, "--results-dir", results);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("could not be loaded by ONNX Runtime", err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(results) && Directory.GetFiles(results, "*", SearchOption.AllDirectories).Length > 0);
    }

    [Fact]
    public void Verbose_adds_the_stack_trace()
    {
        (int code, _, string err) = CliRunner.Run("run", "onnx-file", "--model", "/nonexistent.onnx", "--verbose", "--results-dir", _dir);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("   at ", err, StringComparison.Ordinal);
    }
}
