using Harness.Backends;
using Harness.Decoding;
using Harness.Models;
using Harness.Onnx.Decoder;
using Harness.Testing;

namespace Harness.Onnx.Tests.Decoder;

/// <summary>
/// The ONNX Runtime decoder with a KV-cache slot per sequence: sequences that join while others
/// decode, leave early and reuse slots, with free slots below running ones, each get the greedy
/// tokens the reference decoder gives for its prompt alone.
/// </summary>
public class OnnxSlotDecoderTests
{
    private const int WeightSeed = 7;

    private static IStepDecoder Create(DecoderConfig c, int slots, int context) =>
        new OnnxBackendProvider().CreateDecoder(
            BackendSpec.Parse("onnx:cpu"),
            new WorkloadOptions { Threads = 1 },
            new DecoderSpec { Model = c, DType = TensorDType.Float32, WeightSeed = WeightSeed, Slots = slots, Shapes = DecoderShapes.PerSlot, Context = context });

    [Theory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void Sequences_joining_at_different_steps_get_the_reference_tokens(string model)
    {
        DecoderTestSupport.EnsureCache();
        DecoderConfig c = ModelCatalog.Load(model);
        using IStepDecoder decoder = Create(c, StaggeredJoins.Slots, context: 24);
        Assert.True(decoder.SupportsJoining);
        Assert.IsType<OnnxSlotDecoder>(decoder);
        StaggeredJoins.AssertMatchesReference(c, WeightSeed, StaggeredJoins.Run(decoder, c.Vocab));
    }

    [Fact]
    public void A_slot_context_beyond_the_model_is_one_sentence_before_anything_loads()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-gpt2-test");
        var e = Assert.Throws<HarnessException>(() => Create(c, 2, c.MaxPositions + 1));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("max_positions", e.Message);
    }

    [Fact]
    public void A_cuda_graph_is_refused_for_joining_sequences()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-gpt2-test");
        var e = Assert.Throws<HarnessException>(() => new OnnxBackendProvider().CreateDecoder(
            BackendSpec.Parse("onnx:cpu"),
            new WorkloadOptions { Extra = new Dictionary<string, string> { ["cuda_graph"] = "1" } },
            new DecoderSpec { Model = c, DType = TensorDType.Float32, Slots = 2, Shapes = DecoderShapes.PerSlot, Context = 16 }));
        Assert.Contains("cuda_graph", e.Message);
    }
}
