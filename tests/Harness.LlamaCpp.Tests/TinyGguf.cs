using Harness.Cli;

namespace Harness.LlamaCpp.Tests;

/// <summary>GGUF files of the tiny test shapes, written once per test run by <c>harness export</c> into a temporary folder.</summary>
internal static class TinyGguf
{
    private static readonly Lock Gate = new();
    private static readonly Lazy<string> Folder = new(() => Directory.CreateTempSubdirectory("harness-llamacpp-tests-").FullName);

    /// <summary>The file of <paramref name="model"/>'s weights from <paramref name="seed"/>, in <paramref name="dtype"/>.</summary>
    public static string Export(string model, string dtype = "fp32", int seed = 1234)
    {
        lock (Gate)
        {
            string path = Path.Combine(Folder.Value, $"{model}-{dtype}-{seed}.gguf");
            if (!File.Exists(path))
            {
                (int code, _, string err) = Cli("export", "--model-config", model, "--format", "gguf", "--dtype", dtype,
                    "--set", $"weight_seed={seed}", "--out", path);
                Assert.True(code == 0, err);
            }

            return path;
        }
    }

    /// <summary>A scratch folder for results and other files of one test.</summary>
    public static string Scratch() => Directory.CreateTempSubdirectory("harness-llamacpp-run-").FullName;

    /// <summary>Runs the CLI in-process: exit code, stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = HarnessCli.Invoke(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
