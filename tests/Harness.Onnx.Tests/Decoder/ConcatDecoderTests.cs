using Harness.Backends;
using Harness.Decoding;
using Harness.Models;
using Harness.Onnx.Decoder;
using Harness.Testing;

namespace Harness.Onnx.Tests.Decoder;

/// <summary>
/// An Optimum-layout folder (<c>harness export --format onnx</c>) read back with <c>--model DIR</c> runs
/// as it is on <see cref="ConcatDecoder"/>: sequences that join together (ragged, right-padded), join while
/// others decode and leave early, while the cache grows, shrinks and packs its gaps, each get the
/// reference decoder's greedy tokens for its prompt alone; and whatever the decoder cannot drive is
/// refused by name.
/// </summary>
public sealed class ConcatDecoderTests : IDisposable
{
    private const int WeightSeed = 7;

    private static readonly (int Step, int Slot, int Prompt, int NewTokens)[] RaggedJoins =
    [
        (0, 0, 5, 4),
        (0, 1, 2, 9),
        (0, 2, 7, 6),
        (3, 3, 3, 5),
        (3, 0, 11, 3),
        (6, 2, 1, 4),
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("harness-concat-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("tiny-llama-test", 64)]
    [InlineData("tiny-gpt2-test", 64)]
    [InlineData("tiny-llama-test", 2)]
    [InlineData("tiny-gpt2-test", 2)]
    public void Sequences_joining_and_leaving_get_the_reference_tokens(string model, int blockTokens)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        DecoderConfig read = Export(c);
        Assert.NotNull(read.OnnxGraph);
        using var decoder = new ConcatDecoder(
            BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 1 }, Spec(read, slots: 5, context: 32), blockTokens);
        StaggeredJoins.AssertMatchesReference(c, WeightSeed, StaggeredJoins.Run(decoder, c.Vocab, seed: 5, RaggedJoins), RaggedJoins);
        StaggeredJoins.AssertMatchesReference(c, WeightSeed, StaggeredJoins.Run(decoder, c.Vocab));
    }

    [Fact]
    public void The_backend_runs_an_onnx_folder_on_the_concatenating_decoder_and_refuses_cuda_graphs()
    {
        DecoderConfig read = Export(ModelCatalog.Load("tiny-llama-test"));
        using (IStepDecoder decoder = new OnnxBackendProvider().CreateDecoder(
            BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 1 }, Spec(read, 2, 16)))
        {
            Assert.IsType<ConcatDecoder>(decoder);
        }
    }

    [Fact]
    public void A_graph_of_the_wrong_layout_is_refused_by_name()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test");
        DecoderConfig read = Export(c);
        // The harness's own GroupQueryAttention graph (seqlens_k, shared past and present) in the folder's place.
        using (var gen = new WeightGenerator(WeightSeed, c.Layers))
        {
            byte[] proto = DecoderGraph.Write(c, TensorDType.Float32, gen, null);
            File.WriteAllBytes(read.OnnxGraph!, proto);
        }

        var e = Assert.Throws<HarnessException>(() => new ConcatDecoder(
            BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 1 }, Spec(read, 2, 16)));
        Assert.Equal(2, e.ExitCode);
        Assert.Contains("'seqlens_k'", e.Message, StringComparison.Ordinal);
        Assert.Contains(read.OnnxGraph!, e.Message, StringComparison.Ordinal);

        DecoderSpec asHalf = Spec(Export(c, "fp32-as-fp16"), 2, 16) with { DType = TensorDType.Float16 };
        var fp16 = Assert.Throws<HarnessException>(
            () => new ConcatDecoder(BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 1 }, asHalf));
        Assert.Contains("--dtype fp32", fp16.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_graph_is_bad_input_naming_the_file()
    {
        DecoderConfig read = Export(ModelCatalog.Load("tiny-llama-test"));
        byte[] bytes = File.ReadAllBytes(read.OnnxGraph!);
        File.WriteAllBytes(read.OnnxGraph!, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<HarnessException>(() => new ConcatDecoder(
            BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 1 }, Spec(read, 2, 16)));
        Assert.Equal(2, e.ExitCode);
        Assert.Contains(read.OnnxGraph!, e.Message, StringComparison.Ordinal);
    }

    private static DecoderSpec Spec(DecoderConfig c, int slots, int context) =>
        new() { Model = c, DType = TensorDType.Float32, WeightSeed = 999, Slots = slots, Context = context };

    private DecoderConfig Export(DecoderConfig c, string name = "onnx")
    {
        string path = Path.Combine(_dir, c.Name + "-" + name);
        using (var gen = new WeightGenerator(WeightSeed, c.Layers))
        {
            OptimumGraph.Export(c, TensorDType.Float32, path, gen);
        }

        return ModelCatalog.Load(path);
    }
}
