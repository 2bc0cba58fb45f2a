using Harness.Backends;
using Harness.Decoding;
using Harness.Models;
using Harness.Models.Formats;
using Harness.Onnx;
using Harness.Onnx.Decoder;
using Harness.Testing;
using Harness.Torch.Decoder;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace Harness.Torch.Tests.Decoder;

/// <summary>
/// One model description, two backends that agree: same config, same seeded weights, same prompt;
/// ONNX Runtime and TorchSharp (fp32, CPU) give logits within 1e-4 relative error at every step and
/// the same greedy tokens, and both match the plain reference decoder.
/// </summary>
public class ParityTests
{
    private const int WeightSeed = 11;

    static ParityTests()
    {
        string dir = Environment.GetEnvironmentVariable("HARNESS_TEST_CACHE") is { Length: > 0 } d ? d : Path.Combine(Path.GetTempPath(), "harness-test-cache");
        Directory.CreateDirectory(dir);
        Environment.SetEnvironmentVariable("HARNESS_CACHE", dir);
    }

    [TorchTheory]
    [InlineData("tiny-llama-test", 3, 7, 6)]
    [InlineData("tiny-gpt2-test", 3, 7, 6)]
    public void Onnx_and_torch_agree_on_logits_and_greedy_tokens(string model, int batch, int promptTokens, int newTokens)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        long[] prompt = new GenerateSettings { Model = c, PromptTokens = promptTokens, DType = TensorDType.Float32 }.Prompt(batch, seed: 5);

        (long[][] onnxTokens, float[][] onnxLogits) = RunOnnx(c, batch, prompt, promptTokens, newTokens);
        (long[][] torchTokens, float[][] torchLogits) = RunTorch(c, batch, prompt, promptTokens, newTokens);

        for (int step = 0; step < newTokens; step++)
        {
            double err = RelativeError(torchLogits[step], onnxLogits[step]);
            Assert.True(err < 1e-4, $"{model} step {step}: ONNX vs TorchSharp logits relative error {err:g3}");
            Assert.Equal(onnxTokens[step], torchTokens[step]);
        }

        // Both against the reference, sequence 0.
        var reference = new ReferenceDecoder(c, WeightSeed);
        long[] expected = reference.Generate(prompt.AsSpan(0, promptTokens), newTokens);
        Assert.Equal(expected, torchTokens.Select(t => t[0]).ToArray());
    }

    /// <summary>
    /// The same through the step-level contract that generate, the agents and serving use: each
    /// provider's decoder, sequences bringing their prompt ids, greedy tokens out. ONNX Runtime and
    /// TorchSharp give the same tokens for every sequence, and the reference's.
    /// </summary>
    [TorchTheory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void Onnx_and_torch_decoders_agree_through_the_step_contract(string model)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        const int batch = 3, promptTokens = 5, newTokens = 6;
        long[] prompt = new GenerateSettings { Model = c, PromptTokens = promptTokens, DType = TensorDType.Float32 }.Prompt(batch, seed: 9);
        long[][] onnx = Decode(new OnnxBackendProvider(), "onnx:cpu", c, prompt, batch, promptTokens, newTokens);
        long[][] torch = Decode(new TorchBackendProvider(), "torch:cpu", c, prompt, batch, promptTokens, newTokens);
        var reference = new ReferenceDecoder(c, WeightSeed);
        for (int b = 0; b < batch; b++)
        {
            Assert.Equal(onnx[b], torch[b]);
            Assert.Equal(reference.Generate(prompt.AsSpan(b * promptTokens, promptTokens), newTokens), torch[b]);
        }
    }

    /// <summary>
    /// The decoders with a KV-cache slot per sequence (what serving runs): sequences join while
    /// others decode, leave, reuse slots and run above free ones, and on both backends each gets the
    /// reference decoder's greedy tokens for its prompt alone.
    /// </summary>
    [TorchTheory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void Onnx_and_torch_slot_decoders_agree_with_sequences_joining(string model)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        var spec = new DecoderSpec { Model = c, DType = TensorDType.Float32, WeightSeed = WeightSeed, Slots = StaggeredJoins.Slots, Shapes = DecoderShapes.PerSlot, Context = 24 };
        (long[] Prompt, long[] Tokens)[] onnx, torch;
        using (IStepDecoder d = new OnnxBackendProvider().CreateDecoder(BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 1 }, spec))
        {
            onnx = StaggeredJoins.Run(d, c.Vocab);
        }

        using (IStepDecoder d = new TorchBackendProvider().CreateDecoder(BackendSpec.Parse("torch:cpu"), new WorkloadOptions(), spec))
        {
            Assert.IsType<TorchSlotDecoder>(d);
            torch = StaggeredJoins.Run(d, c.Vocab);
        }

        StaggeredJoins.AssertMatchesReference(c, WeightSeed, onnx);
        StaggeredJoins.AssertMatchesReference(c, WeightSeed, torch);
    }

    /// <summary>
    /// bf16 (what torch:cuda runs: half-precision RoPE, softmax and RMSNorm gains) against fp32 on the
    /// CPU, same weights: logits agree to bf16 precision (measured ~6e-3 relative) and the greedy tokens
    /// match.
    /// </summary>
    [TorchTheory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void Torch_bf16_agrees_with_fp32(string model)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        const int batch = 2, promptTokens = 6, newTokens = 5;
        long[] prompt = new GenerateSettings { Model = c, PromptTokens = promptTokens, DType = TensorDType.Float32 }.Prompt(batch, seed: 8);
        (long[][] tokens32, float[][] logits32) = RunTorch(c, batch, prompt, promptTokens, newTokens);
        (long[][] tokens16, float[][] logits16) = RunTorch(c, batch, prompt, promptTokens, newTokens, torch.ScalarType.BFloat16);
        for (int step = 0; step < newTokens; step++)
        {
            double err = RelativeError(logits16[step], logits32[step]);
            Assert.True(err < 2e-2, $"{model} step {step}: bf16 vs fp32 logits relative error {err:g3}");
            Assert.Equal(tokens32[step], tokens16[step]);
        }
    }

    [TorchFact]
    public void Weights_loaded_into_modules_are_the_generated_values()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test");
        TorchRuntime.Ensure("cpu", null);
        using var m = new TorchDecoderModel(c);
        var gen = new WeightGenerator(WeightSeed, c.Layers);
        m.LoadWeights(gen, torch.ScalarType.Float32, torch.CPU);
        var names = m.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Equal(WeightLayout.For(c).Select(w => w.Name).ToHashSet(), names);
        WeightSpec spec = WeightLayout.For(c).First(w => w.Name == "h1.mlp.down.weight");
        float[] expected = gen.Generate(spec);
        float[] actual = m.get_parameter(spec.Name)!.data<float>().ToArray();
        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// A model exported by harness export and read back (--model PATH) loads into the TorchSharp modules
    /// with the seeded model's logits and tokens, in each format and architecture.
    /// </summary>
    [TorchTheory]
    [InlineData("tiny-llama-test", ExportFormat.Hf)]
    [InlineData("tiny-llama-test", ExportFormat.Gguf)]
    [InlineData("tiny-gpt2-test", ExportFormat.Hf)]
    [InlineData("tiny-gpt2-test", ExportFormat.Gguf)]
    public void Exported_files_give_the_seeded_models_logits_on_torch(string model, ExportFormat format)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        string dir = Directory.CreateTempSubdirectory("harness-torch-files-").FullName;
        try
        {
            string path = Path.Combine(dir, model + (format == ExportFormat.Gguf ? ".gguf" : ""));
            using (var gen = new WeightGenerator(WeightSeed, c.Layers))
            {
                ModelExport.Write(c, TensorDType.Float32, format, path, gen);
            }

            DecoderConfig read = ModelCatalog.Load(path);
            const int batch = 2, promptTokens = 5, newTokens = 4;
            var settings = new GenerateSettings { Model = c, PromptTokens = promptTokens, DType = TensorDType.Float32 };
            long[] prompt = settings.Prompt(batch, seed: 3);
            (long[][] seededTokens, float[][] seededLogits) = RunTorch(c, batch, prompt, promptTokens, newTokens);
            (long[][] fileTokens, float[][] fileLogits) = RunTorch(read, batch, prompt, promptTokens, newTokens);
            for (int step = 0; step < newTokens; step++)
            {
                double err = RelativeError(fileLogits[step], seededLogits[step]);
                Assert.True(err < 1e-4, $"{model} {format} step {step}: relative error {err:g3}");
                Assert.Equal(seededTokens[step], fileTokens[step]);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_missing_libtorch_folder_is_one_sentence()
    {
        var e = Assert.Throws<HarnessException>(() => TorchRuntime.Ensure("cpu", "/nonexistent/torch/lib"));
        Assert.Contains("/nonexistent/torch/lib", e.Message);
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.DoesNotContain("\n", e.Message);
    }

    private static (long[][], float[][]) RunOnnx(DecoderConfig c, int batch, long[] prompt, int promptTokens, int newTokens)
    {
        string path = DecoderModelCache.GetOrCreate(c, TensorDType.Float32, WeightSeed);
        var backend = BackendSpec.Parse("onnx:cpu");
        using InferenceSession session = OnnxSessionFactory.Create(path, backend, new WorkloadOptions { Threads = 1 });
        using var r = new OnnxDecoderRunner(session, c, TensorDType.Float32, backend, batch, promptTokens, promptTokens + newTokens, captureLogits: true);
        return Generate(newTokens, () => r.Prefill(prompt), r.Step, () => r.NextTokens.ToArray(), () => r.Logits.ToArray());
    }

    private static (long[][], float[][]) RunTorch(DecoderConfig c, int batch, long[] prompt, int promptTokens, int newTokens, torch.ScalarType dtype = torch.ScalarType.Float32)
    {
        TorchRuntime.Ensure("cpu", null);
        using var m = new TorchDecoderModel(c);
        using (IWeightSource weights = ModelWeights.Open(c, WeightSeed))
        {
            m.LoadWeights(weights, dtype, torch.CPU);
        }

        using var r = new TorchDecoderRunner(m, batch, promptTokens, promptTokens + newTokens, captureLogits: true);
        return Generate(newTokens, () => r.Prefill(prompt), r.Step, () => r.NextTokens.ToArray(), () => r.Logits.ToArray());
    }

    /// <summary>Each sequence's greedy tokens from a provider's decoder, one iteration at a time.</summary>
    private static long[][] Decode(IDecoderProvider provider, string backend, DecoderConfig c, long[] prompt, int batch, int promptTokens, int newTokens)
    {
        var spec = new DecoderSpec { Model = c, DType = TensorDType.Float32, WeightSeed = WeightSeed, Slots = batch };
        using IStepDecoder decoder = provider.CreateDecoder(BackendSpec.Parse(backend), new WorkloadOptions { Threads = 1 }, spec);
        var sequences = Enumerable.Range(0, batch).Select(b => new DecodeSequence(b, promptTokens, newTokens, prompt.AsMemory(b * promptTokens, promptTokens))).ToArray();
        var tokens = new long[batch][];
        for (int b = 0; b < batch; b++)
        {
            tokens[b] = new long[newTokens];
        }

        for (int i = 0; i < newTokens; i++)
        {
            decoder.Step(i == 0 ? sequences : [], i == 0 ? [] : sequences, CancellationToken.None);
            for (int b = 0; b < batch; b++)
            {
                tokens[b][i] = sequences[b].LastToken;
            }
        }

        Assert.All(sequences, s => Assert.True(s.Done));
        return tokens;
    }

    private static (long[][], float[][]) Generate(int newTokens, Action prefill, Action step, Func<long[]> tokens, Func<float[]> logits)
    {
        var t = new long[newTokens][];
        var l = new float[newTokens][];
        prefill();
        for (int i = 0; i < newTokens; i++)
        {
            if (i > 0)
            {
                step();
            }

            t[i] = tokens();
            l[i] = logits();
        }

        return (t, l);
    }

    private static double RelativeError(float[] a, float[] b)
    {
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            num += (a[i] - (double)b[i]) * (a[i] - (double)b[i]);
            den += (double)b[i] * b[i];
        }

        return Math.Sqrt(num / den);
    }
}
