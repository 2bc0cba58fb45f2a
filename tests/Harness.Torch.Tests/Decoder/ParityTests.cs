using Harness.Backends;
using Harness.Decoding;
using Harness.Decoding.Sampling;
using Harness.Models;
using Harness.Models.Formats;
using Harness.Onnx;
using Harness.Onnx.Decoder;
using Harness.Testing;
using Harness.Torch.Decoder;
using TorchSharp;

namespace Harness.Torch.Tests.Decoder;

/// <summary>
/// One model description, two backends that agree: same config, same seeded weights, same prompt;
/// TorchSharp (fp32, CPU) gives the plain reference decoder's logits within 1e-4 relative error at
/// every step and its greedy tokens (as the ONNX graph does, tested beside it), ONNX Runtime and
/// TorchSharp give the same tokens through the step contract, and the one TorchSharp decoder keeps
/// each sequence's tokens whatever else is in its batch: ragged prompts prefilled together,
/// sequences leaving from below, the KV cache grown mid-sequence.
/// </summary>
public class ParityTests
{
    private const int WeightSeed = 11;

    static ParityTests()
    {
        TestCache.Ensure();
    }

    [TorchTheory]
    [InlineData("tiny-llama-test", 3, 7, 6)]
    [InlineData("tiny-gpt2-test", 3, 7, 6)]
    public void Torch_logits_and_greedy_tokens_match_the_reference(string model, int batch, int promptTokens, int newTokens)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        long[] prompt = new GenerateSettings { Model = c, PromptTokens = promptTokens, DType = TensorDType.Float32 }.Prompt(batch, seed: 5);

        (long[][] tokens, float[][] logits) = RunTorch(c, batch, prompt, promptTokens, newTokens);

        var reference = new ReferenceDecoder(c, WeightSeed);
        for (int b = 0; b < batch; b++)
        {
            var sequence = prompt.AsSpan(b * promptTokens, promptTokens).ToArray().ToList();
            for (int step = 0; step < newTokens; step++)
            {
                float[] expected = reference.LastLogits(sequence.ToArray());
                double err = RelativeError(logits[step].AsSpan(b * c.Vocab, c.Vocab).ToArray(), expected);
                Assert.True(err < 1e-4, $"{model} sequence {b} step {step}: TorchSharp vs reference logits relative error {err:g3}");
                Assert.Equal(ReferenceDecoder.ArgMax(expected), tokens[step][b]);
                sequence.Add(tokens[step][b]);
            }
        }
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
    /// Sequences join while others decode, leave, and join again into the freed rows; each gets the
    /// reference decoder's greedy tokens for its prompt alone.
    /// </summary>
    [TorchTheory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void Sequences_joining_and_leaving_keep_their_tokens(string model)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        using TorchDecoder d = Create(c, StaggeredJoins.Slots, context: 24);
        StaggeredJoins.AssertMatchesReference(c, WeightSeed, StaggeredJoins.Run(d, c.Vocab));
    }

    /// <summary>
    /// Prompts of 2, 7 and 4 tokens prefilled in one pass (right-padded), then decoded at their own
    /// lengths: each row gets the tokens of its prompt alone.
    /// </summary>
    [TorchTheory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void A_ragged_batched_prefill_gives_each_row_its_own_tokens(string model)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        using TorchDecoder d = Create(c, 3);
        var steps = Recorder.Run(d, c, [(0, 0, 2, 6), (0, 1, 7, 6), (0, 2, 4, 6)]);
        Assert.Equal(3, steps[0].Live);
    }

    /// <summary>
    /// Row 0 leaves after two tokens while rows 1 and 2 run on: row 2's cache moves into row 0, and
    /// both keep their tokens; a later joiner takes row 2.
    /// </summary>
    [TorchTheory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void Leaving_from_below_keeps_the_others_tokens(string model)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        using TorchDecoder d = Create(c, 3);
        var steps = Recorder.Run(d, c, [(0, 0, 3, 2), (0, 1, 6, 8), (0, 2, 4, 8), (4, 0, 5, 4)]);
        Assert.Equal(new[] { 3, 3, 2, 2, 3 }, steps.Take(5).Select(s => s.Live).ToArray());
    }

    /// <summary>
    /// Blocks of 4 tokens: a 40-token prompt and a 3-token one join together; the cache grows while
    /// they decode, the long one leaves from below (the other moving down), the cache shrinks under the
    /// one left, two more join (more rows) and it grows again as that one goes on. Every sequence keeps its tokens.
    /// </summary>
    [TorchTheory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void Resizing_the_cache_mid_sequence_keeps_the_tokens(string model)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        using TorchDecoder d = Create(c, 3, blockTokens: 4);
        var steps = Recorder.Run(d, c, [(0, 0, 40, 4), (0, 1, 3, 20), (6, 0, 2, 5), (6, 2, 6, 5)]);
        string shapes = string.Join(" ", steps.Select(s => $"{s.Live}:{s.Rows}x{s.Tokens}"));
        bool Any(Func<int, bool> at) => Enumerable.Range(1, steps.Count - 1).Any(at);
        long Size(int i) => (long)steps[i].Rows * steps[i].Tokens;
        Assert.True(Any(i => steps[i].Tokens > steps[i - 1].Tokens && steps[i].Rows == steps[i - 1].Rows), $"no token growth: {shapes}");
        Assert.True(Any(i => steps[i].Rows > steps[i - 1].Rows && steps[i - 1].Live > 0), $"no growth in rows: {shapes}");
        Assert.True(Any(i => Size(i) < Size(i - 1) && steps[i].Live > 0), $"no shrink: {shapes}");
    }

    /// <summary>
    /// Sampling in the step: a batch mixing sampled and greedy sequences gives, step after step, the
    /// tokens the ONNX Runtime decoder gives (its managed sampler over the same logits to 1e-4) for the
    /// same seeds, and the sampled ones are not greedy's.
    /// </summary>
    [TorchFact]
    public void Sampled_tokens_equal_the_onnx_decoders_for_the_same_seeds()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-gpt2-test");
        using TorchDecoder torchDecoder = Create(c, 3);
        var spec = new DecoderSpec { Model = c, DType = TensorDType.Float32, WeightSeed = WeightSeed, Slots = 3 };
        using IStepDecoder onnxDecoder =
            new OnnxBackendProvider().CreateDecoder(BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 1 }, spec);
        SamplingParams[] sampling =
        [
            new() { Temperature = 1.2, TopP = 0.95, Seed = 7 },
            SamplingParams.Greedy,
            new()
            {
                Temperature = 0.9, TopK = 20, PresencePenalty = 0.5, FrequencyPenalty = 0.3, RepetitionPenalty = 1.2, Seed = 8,
                TopLogprobs = 2, Logprobs = true,
            },
        ];
        const int steps = 10;
        long[][] Run(IStepDecoder d, SamplingParams[] sampling)
        {
            DecodeSequence[] sequences = [.. sampling.Select((p, i) => new DecodeSequence(i, 3, steps, new long[] { 1 + i, 2, 3 }, p))];
            var tokens = new long[sequences.Length][];
            for (int i = 0; i < tokens.Length; i++)
            {
                tokens[i] = new long[steps];
            }

            for (int step = 0; step < steps; step++)
            {
                d.Step(step == 0 ? sequences : [], step == 0 ? [] : sequences, CancellationToken.None);
                for (int i = 0; i < sequences.Length; i++)
                {
                    tokens[i][step] = sequences[i].LastToken;
                    Assert.Equal(sampling[i].Logprobs, sequences[i].LastLogprobs is not null);
                }
            }

            foreach (DecodeSequence s in sequences.Reverse())
            {
                d.Release(s);
            }

            return tokens;
        }

        long[][] viaTorch = Run(torchDecoder, sampling), viaOnnx = Run(onnxDecoder, sampling);
        long[][] greedy = Run(torchDecoder, [.. sampling.Select(_ => SamplingParams.Greedy)]);

        for (int i = 0; i < sampling.Length; i++)
        {
            Assert.Equal(viaOnnx[i], viaTorch[i]);
        }

        Assert.Equal(greedy[1], viaTorch[1]);
        Assert.NotEqual(greedy[0], viaTorch[0]);
        Assert.NotEqual(greedy[2], viaTorch[2]);
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
    /// with the seeded model's logits and tokens, in each format and architecture (an ONNX folder's
    /// initializers read as the canonical weights).
    /// </summary>
    [TorchTheory]
    [InlineData("tiny-llama-test", ExportFormat.Hf)]
    [InlineData("tiny-llama-test", ExportFormat.Gguf)]
    [InlineData("tiny-gpt2-test", ExportFormat.Hf)]
    [InlineData("tiny-gpt2-test", ExportFormat.Gguf)]
    [InlineData("tiny-llama-test", ExportFormat.Onnx)]
    [InlineData("tiny-gpt2-test", ExportFormat.Onnx)]
    [InlineData("tiny-llama-test", ExportFormat.Genai)]
    public void Exported_files_give_the_seeded_models_logits_on_torch(string model, ExportFormat format)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        string dir = Directory.CreateTempSubdirectory("harness-torch-files-").FullName;
        try
        {
            string path = Path.Combine(dir, model + (format == ExportFormat.Gguf ? ".gguf" : ""));
            using (var gen = new WeightGenerator(WeightSeed, c.Layers))
            {
                if (format is ExportFormat.Onnx or ExportFormat.Genai)
                {
                    OptimumGraph.Export(c, TensorDType.Float32, path, gen, format);
                }
                else
                {
                    ModelExport.Write(c, TensorDType.Float32, format, path, gen);
                }
            }

            DecoderConfig read = ModelCatalog.Load(path);
            Assert.Equal(format is ExportFormat.Onnx or ExportFormat.Genai, read.OnnxGraph is not null);
            const int batch = 2, promptTokens = 5, newTokens = 4;
            var settings = new GenerateSettings { Model = c, PromptTokens = promptTokens, DType = TensorDType.Float32 };
            long[] prompt = settings.Prompt(batch, seed: 3);
            (long[][] seededTokens, float[][] seededLogits) = RunTorch(c, batch, prompt, promptTokens, newTokens);
            // Another seed: only the files' weights can give the seeded model's logits.
            (long[][] fileTokens, float[][] fileLogits) = RunTorch(read, batch, prompt, promptTokens, newTokens, weightSeed: 999);
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

    private static TorchDecoder Create(DecoderConfig c, int slots, int? context = null, int blockTokens = BatchDecoder.DefaultBlockTokens)
    {
        var spec = new DecoderSpec { Model = c, DType = TensorDType.Float32, WeightSeed = WeightSeed, Slots = slots, Context = context };
        return new(BackendSpec.Parse("torch:cpu"), new WorkloadOptions(), spec, blockTokens);
    }

    /// <summary>The model's passes as the decoder makes them: one prefill of the whole batch, then one step of every row.</summary>
    private static (long[][], float[][]) RunTorch(
        DecoderConfig c,
        int batch,
        long[] prompt,
        int promptTokens,
        int newTokens,
        torch.ScalarType dtype = torch.ScalarType.Float32,
        int weightSeed = WeightSeed)
    {
        TorchRuntime.Ensure("cpu", null);
        using var m = new TorchDecoderModel(c);
        using (IWeightSource weights = ModelWeights.Open(c, weightSeed))
        {
            m.LoadWeights(weights, dtype, torch.CPU);
        }

        m.ResizeCache(batch, promptTokens + newTokens, []);
        var t = new long[newTokens][];
        var l = new float[newTokens][];
        int[] lengths = Enumerable.Repeat(promptTokens, batch).ToArray();
        for (int i = 0; i < newTokens; i++)
        {
            using var scope = torch.NewDisposeScope();
            torch.Tensor logits = i == 0 ? m.ForwardPrompts(prompt, promptTokens, lengths, 0) : m.ForwardRows(t[i - 1], lengths);
            if (i > 0)
            {
                lengths = lengths.Select(p => p + 1).ToArray();
            }

            t[i] = logits.argmax(-1).data<long>().ToArray();
            l[i] = logits.contiguous().data<float>().ToArray();
        }

        return (t, l);
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

    /// <summary>
    /// Runs a schedule through a decoder, checks every sequence against the reference, and keeps the
    /// cache's shape after each iteration.
    /// </summary>
    private sealed class Recorder(TorchDecoder decoder) : IStepDecoder
    {
        private readonly List<(int Live, int Rows, int Tokens)> _steps = [];

        public string Name => decoder.Name;

        public int Slots => decoder.Slots;

        public bool SupportsJoining => decoder.SupportsJoining;

        public IReadOnlyDictionary<string, object?> Details => decoder.Details;

        public static List<(int Live, int Rows, int Tokens)> Run(
            TorchDecoder decoder, DecoderConfig c, (int Step, int Slot, int Prompt, int NewTokens)[] schedule)
        {
            var recorder = new Recorder(decoder);
            StaggeredJoins.AssertMatchesReference(c, WeightSeed, StaggeredJoins.Run(recorder, c.Vocab, schedule: schedule), schedule);
            return recorder._steps;
        }

        public void Step(IReadOnlyList<DecodeSequence> joining, IReadOnlyList<DecodeSequence> running, CancellationToken cancellationToken)
        {
            decoder.Step(joining, running, cancellationToken);
            _steps.Add((decoder.Live, decoder.CapacityRows, decoder.CapacityTokens));
        }

        public void Release(DecodeSequence sequence) => decoder.Release(sequence);

        public void Dispose()
        {
        }
    }
}
