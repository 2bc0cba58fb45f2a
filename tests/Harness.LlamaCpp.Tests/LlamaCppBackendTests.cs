using System.Diagnostics;
using Harness.Backends;
using Harness.Cli;
using Harness.Decoding;

namespace Harness.LlamaCpp.Tests;

/// <summary>
/// <c>llamacpp:cpu</c> is a backend of the CLI's registry with a decoder; what it cannot run is refused by
/// name with one sentence and exit code 2, before any model is loaded.
/// </summary>
public sealed class LlamaCppBackendTests
{
    [Fact]
    public void Llamacpp_cpu_resolves_to_the_llama_cpp_decoder_provider()
    {
        BackendRegistry registry = HarnessCli.CreateRegistry();
        IBackendProvider provider = registry.Resolve(BackendSpec.Parse("llamacpp:cpu"));

        Assert.IsType<LlamaCppBackendProvider>(provider);
        Assert.Contains("llamacpp:cpu", DecoderBackends.Names(registry));
        Assert.DoesNotContain("llamacpp:cuda", DecoderBackends.Names(registry));
        Assert.Equal("0.30.0", registry.PackageVersions["llamasharp"]);
    }

    [Fact]
    public void Llamacpp_cuda_is_refused_by_name()
    {
        var e = Assert.Throws<HarnessException>(() => HarnessCli.CreateRegistry().Resolve(BackendSpec.Parse("llamacpp:cuda")));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("'llamacpp:cuda'", e.Message, StringComparison.Ordinal);
        Assert.Contains("cpu", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Llamacpp_cuda_exits_2_from_run_generate()
    {
        string gguf = TinyGguf.Export("tiny-llama-test");
        (int code, _, string err) = TinyGguf.Cli("run", "generate", "-b", "llamacpp:cuda", "--model", gguf, "--duration", "1s");

        Assert.Equal(2, code);
        Assert.Contains("llamacpp:cuda", err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_seeded_model_config_is_refused_with_the_export_command_to_run()
    {
        string dir = TinyGguf.Scratch();
        (int code, _, string err) = TinyGguf.Cli("run", "generate", "-b", "llamacpp:cpu", "--model-config", "tiny-llama-test",
            "--duration", "1s", "--out", Path.Combine(dir, "r.json"));

        Assert.Equal(2, code);
        Assert.Contains("llamacpp:cpu runs GGUF files only", err, StringComparison.Ordinal);
        Assert.Contains("harness export --model-config tiny-llama-test --format gguf", err, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, "r.json")));
    }

    [Fact]
    public void A_hugging_face_folder_is_refused_by_name()
    {
        string dir = TinyGguf.Scratch();
        string hf = Path.Combine(dir, "tl");
        Assert.Equal(0, TinyGguf.Cli("export", "--model-config", "tiny-llama-test", "--format", "hf", "--out", hf).Code);

        (int code, _, string err) = TinyGguf.Cli("run", "generate", "-b", "llamacpp:cpu", "--model", hf, "--duration", "1s");

        Assert.Equal(2, code);
        Assert.Contains($"'{hf}' is a Hugging Face folder", err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_gguf_is_refused_by_name()
    {
        string dir = TinyGguf.Scratch();
        string bogus = Path.Combine(dir, "model.gguf");
        File.WriteAllText(bogus, "not a gguf file at all, just text");

        (int code, _, string err) = TinyGguf.Cli("run", "generate", "-b", "llamacpp:cpu", "--model", bogus, "--duration", "1s");

        Assert.Equal(2, code);
        Assert.Contains(bogus, err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gguf_file_of_an_architecture_the_harness_does_not_read_is_refused_by_name()
    {
        string path = Path.Combine(TinyGguf.Scratch(), "phi.gguf");
        Harness.Models.Formats.Gguf.Write(path, [new("general.architecture", "phi3")], []);

        (int code, _, string err) = TinyGguf.Cli("run", "generate", "-b", "llamacpp:cpu", "--model", path, "--duration", "1s");

        Assert.Equal(2, code);
        Assert.Contains("architecture 'phi3'", err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dtype_other_than_the_files_is_refused()
    {
        string gguf = TinyGguf.Export("tiny-llama-test");
        (int code, _, string err) = TinyGguf.Cli("run", "generate", "-b", "llamacpp:cpu", "--model", gguf, "--dtype", "fp16",
            "--duration", "1s");

        Assert.Equal(2, code);
        Assert.Contains("with its weights as stored (fp32), not --dtype fp16", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Decoder_creation_refuses_a_seeded_model_for_serve_and_the_agents_too()
    {
        var provider = new LlamaCppBackendProvider();
        var spec = new DecoderSpec { Model = Harness.Models.ModelCatalog.Load("tiny-llama-test"), DType = TensorDType.Float32, Slots = 1 };

        var e = Assert.Throws<HarnessException>(
            () => provider.CreateDecoder(BackendSpec.Parse("llamacpp:cpu"), new WorkloadOptions(), spec));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("GGUF files only", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// On a CPU without AVX-512 LLamaSharp loads its AVX2 build from the app's folder: .NET reports no AVX-512 with
    /// DOTNET_EnableAVX512=0, as on an AVX2-only CPU (and with AVX2 off too, the AVX build loads).
    /// </summary>
    [LlamaFact]
    public void Without_avx512_the_avx2_build_loads_and_without_avx2_the_avx_one()
    {
        Assert.Contains("(avx2 build, ", DoctorWith("DOTNET_EnableAVX512"), StringComparison.Ordinal);
        Assert.Contains("(avx build, ", DoctorWith("DOTNET_EnableAVX2"), StringComparison.Ordinal);
    }

    /// <summary>
    /// <c>harness doctor</c> (which loads llama.cpp) in a child process with the .NET setting <paramref name="off"/> = 0:
    /// its llamacpp:cpu line.
    /// </summary>
    private static string DoctorWith(string off)
    {
        string host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var start = new ProcessStartInfo(host, [Path.Combine(AppContext.BaseDirectory, "harness.dll"), "doctor"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment[off] = "0";
        using Process p = Process.Start(start)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return output.Split('\n').FirstOrDefault(l => l.Contains("llamacpp:cpu", StringComparison.Ordinal)) ?? output + err.Result;
    }
}
