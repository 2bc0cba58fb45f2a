using Harness.Backends;
using Harness.Decoding;
using Harness.GenAI.Bench;
using Harness.Models;
using Harness.Models.Formats;
using Harness.Onnx;
using Harness.Onnx.Decoder;
using Harness.Testing;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace Harness.GenAI.Tests;

/// <summary>
/// onnxruntime-genai 0.20.0 runs the folder <c>harness export --format genai</c> writes and gives the same greedy tokens as
/// the harness's loop on the same seeded weights: its own GroupQueryAttention graph and the folder's graph (ConcatDecoder),
/// batch 1 and a batch of 3; and the process maps exactly one native ONNX Runtime (Gpu.Linux's), the one GenAI uses too.
/// </summary>
public sealed class GenAiReferenceTests : IDisposable
{
    private const int Seed = 7, PromptTokens = 6, NewTokens = 10;
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-genai-").FullName;

    public GenAiReferenceTests()
    {
        TestCache.Ensure();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void GenAi_gives_the_harness_loops_greedy_tokens(int batch)
    {
        // ONNX Runtime's library first: GenAI's dlopen of libonnxruntime.so.1 then finds it loaded.
        Assert.StartsWith("1.32", OrtEnv.Instance().GetVersionString(), StringComparison.Ordinal);
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test");
        string folder = Path.Combine(_dir, "genai");
        using (var weights = new WeightGenerator(Seed, c.Layers))
        {
            OptimumGraph.Export(c, TensorDType.Float32, folder, weights, ExportFormat.Genai);
        }

        Assert.True(File.Exists(Path.Combine(folder, ModelExport.GenAiConfigFile)));
        long[] prompt = new GenerateSettings { Model = c, PromptTokens = PromptTokens, DType = TensorDType.Float32 }.Prompt(batch, seed: 3);
        long[][] genai;
        using (var model = new Model(folder))
        {
            genai = Loops.GenAi(model, batch, prompt, PromptTokens, NewTokens).Tokens;
        }

        var provider = new OnnxBackendProvider();
        var options = new WorkloadOptions { Threads = 1 };
        var spec = new DecoderSpec { Model = c, DType = TensorDType.Float32, WeightSeed = Seed, Slots = batch, Context = 32 };
        foreach (DecoderConfig model in new[] { c, ModelCatalog.Load(folder) })
        {
            using IStepDecoder decoder = provider.CreateDecoder(BackendSpec.Parse("onnx:cpu"), options, spec with { Model = model });
            long[][] own = Loops.Harness(decoder, batch, prompt, PromptTokens, NewTokens).Tokens;
            for (int b = 0; b < batch; b++)
            {
                Assert.Equal(genai[b], own[b]);
            }
        }

        string[] runtimes = File.ReadAllLines("/proc/self/maps")
            .Select(l => l.Contains('/', StringComparison.Ordinal) ? l[l.IndexOf('/', StringComparison.Ordinal)..] : "")
            .Where(p => Path.GetFileName(p).StartsWith("libonnxruntime.so", StringComparison.Ordinal))
            .Distinct().ToArray();
        Assert.Single(runtimes);
    }
}
