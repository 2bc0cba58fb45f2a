using Harness.Backends;
using Harness.Decoding;
using Harness.Decoding.Sampling;
using Harness.Models;
using Harness.Onnx;
using Harness.Testing;

namespace Harness.LlamaCpp.Tests;

/// <summary>
/// llama.cpp on an f32 GGUF file that <c>harness export</c> wrote gives the plain reference decoder's
/// logits (of the same seeded model) within a tolerance at every step, and its greedy tokens; ONNX
/// Runtime on the same file gives the same tokens, greedy and sampled (both sample with
/// <see cref="LogitSampler"/> on host logits); and rows that join and leave at different steps keep
/// their tokens (sequence ids moved, cells removed).
/// </summary>
public sealed class LlamaCppParityTests
{
    private const int WeightSeed = 11, Batch = 3, PromptTokens = 7, NewTokens = 6;

    /// <summary>
    /// Llama: llama.cpp's f32 kernels (ggml's SIMD exp in softmax and SiLU, its own RMSNorm and RoPE, another
    /// summation order) stay within 1e-4 of the double-precision reference, the bound the ONNX and TorchSharp
    /// decoders are held to (with flash attention, which casts the cache to f16, they were 1.6e-4 off).
    /// </summary>
    private const double LlamaTolerance = 1e-4;

    /// <summary>
    /// GPT-2: ggml's CPU GELU reads a table indexed by the input rounded to f16 (GGML_GELU_FP16), so the MLP's
    /// activations carry f16 input precision: 1.1e-4 at the first step on tiny-gpt2-test, hence 1e-3.
    /// </summary>
    private const double Gpt2Tolerance = 1e-3;

    /// <summary>
    /// k-quant files: llama.cpp's 8-bit activations (q8_K) against the reference's doubles; measured worst 0.014 (q6_K) to
    /// 0.017 (q4_K, q4_K_M) over 3 sequences x 6 steps, hence 0.05.
    /// </summary>
    private const double KQuantTolerance = 0.05;

    static LlamaCppParityTests()
    {
        TestCache.Ensure();
    }

    [LlamaTheory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void Logits_and_greedy_tokens_match_the_reference_and_onnx_runtime_on_the_same_file(string model)
    {
        DecoderConfig file = ModelCatalog.Load(TinyGguf.Export(model, seed: WeightSeed));
        long[] prompt = Prompts(file, seed: 5);

        var llama = (LlamaCppDecoder)Create("llamacpp:cpu", file, Batch);
        llama.CapturedLogits = [];
        long[][] llamaTokens;
        using (llama)
        {
            llamaTokens = Generate(llama, prompt, SamplingParams.Greedy);
        }

        var reference = new ReferenceDecoder(ModelCatalog.Load(model), WeightSeed);
        double tolerance = file.Architecture == DecoderArchitecture.Gpt2 ? Gpt2Tolerance : LlamaTolerance;
        for (int b = 0; b < Batch; b++)
        {
            var sequence = prompt.AsSpan(b * PromptTokens, PromptTokens).ToArray().ToList();
            for (int step = 0; step < NewTokens; step++)
            {
                float[] expected = reference.LastLogits(sequence.ToArray());
                double err = RelativeError(llama.CapturedLogits[(step * Batch) + b], expected);
                Assert.True(err < tolerance, $"{model} sequence {b} step {step}: llama.cpp vs reference logits relative error {err:g3}");
                Assert.Equal(ReferenceDecoder.ArgMax(expected), llamaTokens[b][step]);
                sequence.Add(llamaTokens[b][step]);
            }
        }

        using IStepDecoder onnx = Create("onnx:cpu", file, Batch);
        Assert.Equal(Flat(llamaTokens), Flat(Generate(onnx, prompt, SamplingParams.Greedy)));
    }

    /// <summary>
    /// The k-quant files <c>harness export --dtype q4_K|q6_K|q4_K_M</c> writes are llama.cpp's blocks: llama.cpp loads them,
    /// and its logits at every step stay close to the harness's reading of the same blocks (dequantized, in the
    /// double-precision reference decoder). llama.cpp's k-quant dot products quantize the activations to 8 bits per 256
    /// (q8_K): relative logit errors of KQuantTolerance's size, against 1e-4 where nothing is quantized; a misread block
    /// layout (a scale, a min or a nibble out of place) gives errors near 1.
    /// </summary>
    [LlamaTheory]
    [InlineData("q4_K")]
    [InlineData("q6_K")]
    [InlineData("q4_K_M")]
    public void K_quant_files_the_harness_writes_run_on_llama_cpp_close_to_the_harness_reading(string dtype)
    {
        string folder = TinyGguf.Scratch();
        string json = Path.Combine(folder, "tiny-kquant.json");
        File.WriteAllText(json, """
            { "name": "tiny-kquant", "architecture": "llama", "hidden": 256, "intermediate": 512, "layers": 2,
              "heads": 4, "kv_heads": 2, "vocab": 256, "max_positions": 64 }
            """);
        string path = Path.Combine(folder, $"tiny-{dtype}.gguf");
        (int code, _, string err) = TinyGguf.Cli("export", "--model-config", json, "--format", "gguf", "--dtype", dtype,
            "--set", $"weight_seed={WeightSeed}", "--out", path);
        Assert.True(code == 0, err);
        DecoderConfig file = ModelCatalog.Load(path);
        long[] prompt = Prompts(file, seed: 5);
        var llama = (LlamaCppDecoder)Create("llamacpp:cpu", file, Batch);
        llama.CapturedLogits = [];
        long[][] tokens;
        using (llama)
        {
            tokens = Generate(llama, prompt, SamplingParams.Greedy);
        }

        using var weights = Harness.Models.Formats.CheckpointWeights.Open(file, path);
        var reference = new ReferenceDecoder(file, weights);
        double worst = 0;
        for (int b = 0; b < Batch; b++)
        {
            var sequence = prompt.AsSpan(b * PromptTokens, PromptTokens).ToArray().ToList();
            for (int step = 0; step < NewTokens; step++)
            {
                double e = RelativeError(llama.CapturedLogits[(step * Batch) + b], reference.LastLogits(sequence.ToArray()));
                worst = Math.Max(worst, e);
                sequence.Add(tokens[b][step]);
            }
        }

        Assert.True(worst < KQuantTolerance, $"{dtype}: llama.cpp vs the harness's reading, worst relative logit error {worst:g3}");
    }

    [LlamaFact]
    public void Sampled_tokens_match_onnx_runtime_on_the_same_file()
    {
        DecoderConfig file = ModelCatalog.Load(TinyGguf.Export("tiny-llama-test", seed: WeightSeed));
        long[] prompt = Prompts(file, seed: 9);
        var sampling = new SamplingParams { Temperature = 0.8, TopP = 0.95, Seed = 17 };

        long[][] llama, onnx;
        using (IStepDecoder d = Create("llamacpp:cpu", file, Batch))
        {
            llama = Generate(d, prompt, sampling);
        }

        using (IStepDecoder d = Create("onnx:cpu", file, Batch))
        {
            onnx = Generate(d, prompt, sampling);
        }

        Assert.Equal(Flat(onnx), Flat(llama));
        using IStepDecoder greedy = Create("llamacpp:cpu", file, Batch);
        Assert.NotEqual(Flat(llama), Flat(Generate(greedy, prompt, SamplingParams.Greedy)));
    }

    [LlamaFact]
    public void Rows_that_join_and_leave_at_different_steps_keep_their_tokens()
    {
        DecoderConfig file = ModelCatalog.Load(TinyGguf.Export("tiny-llama-test", seed: WeightSeed));
        using IStepDecoder llama = Create("llamacpp:cpu", file, StaggeredJoins.Slots);

        (long[] Prompt, long[] Tokens)[] result = StaggeredJoins.Run(llama, file.Vocab);

        StaggeredJoins.AssertMatchesReference(ModelCatalog.Load("tiny-llama-test"), WeightSeed, result);
    }

    [LlamaFact]
    public void A_sequence_that_fills_its_context_keeps_decoding_at_its_last_position()
    {
        DecoderConfig file = ModelCatalog.Load(TinyGguf.Export("tiny-llama-test", seed: WeightSeed));
        var spec = new DecoderSpec { Model = file, DType = TensorDType.Float32, Slots = 1, Context = 8 };
        using IStepDecoder llama = new LlamaCppBackendProvider()
            .CreateDecoder(BackendSpec.Parse("llamacpp:cpu"), new WorkloadOptions { Threads = 1 }, spec);
        var s = new DecodeSequence(0, 5, 10, new long[] { 1, 2, 3, 4, 5 });

        llama.Step([s], [], CancellationToken.None);
        for (int i = 1; i < 10; i++)
        {
            llama.Step([], [s], CancellationToken.None);
        }

        Assert.True(s.Done);
        Assert.Equal(10, s.Produced);
    }

    private static IStepDecoder Create(string backend, DecoderConfig model, int slots)
    {
        var spec = new DecoderSpec { Model = model, DType = TensorDType.Float32, Slots = slots, Context = PromptTokens + NewTokens + 4 };
        var options = new WorkloadOptions { Threads = 1 };
        IDecoderProvider provider = backend.StartsWith("llamacpp", StringComparison.Ordinal)
            ? new LlamaCppBackendProvider()
            : new OnnxBackendProvider();
        return provider.CreateDecoder(BackendSpec.Parse(backend), options, spec);
    }

    /// <summary>The batch joins in one prefill, then decodes; each sequence's tokens.</summary>
    private static long[][] Generate(IStepDecoder decoder, long[] prompt, SamplingParams sampling)
    {
        var sequences = Enumerable.Range(0, Batch).Select(b => new DecodeSequence(
            b, PromptTokens, NewTokens, prompt.AsMemory(b * PromptTokens, PromptTokens),
            sampling.IsPlainGreedy ? sampling : sampling.ForSequence(3, b))).ToArray();
        long[][] tokens = sequences.Select(_ => new long[NewTokens]).ToArray();
        for (int step = 0; step < NewTokens; step++)
        {
            decoder.Step(step == 0 ? sequences : [], step == 0 ? [] : sequences, CancellationToken.None);
            for (int b = 0; b < Batch; b++)
            {
                tokens[b][step] = sequences[b].LastToken;
            }
        }

        for (int b = Batch - 1; b >= 0; b--)
        {
            decoder.Release(sequences[b]);
        }

        return tokens;
    }

    private static long[] Prompts(DecoderConfig file, int seed) =>
        new GenerateSettings { Model = file, PromptTokens = PromptTokens, DType = TensorDType.Float32 }.Prompt(Batch, seed);

    private static long[] Flat(long[][] tokens) => tokens.SelectMany(t => t).ToArray();

    private static double RelativeError(float[] actual, float[] expected)
    {
        double num = 0, den = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            num += Math.Pow(actual[i] - expected[i], 2);
            den += Math.Pow(expected[i], 2);
        }

        return Math.Sqrt(num / den);
    }
}
