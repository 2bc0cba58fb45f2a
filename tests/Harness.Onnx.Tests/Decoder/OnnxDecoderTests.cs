using Harness.Backends;
using Harness.Decoding;
using Harness.Metrics;
using Harness.Models;
using Harness.Onnx.Decoder;
using Harness.Testing;

namespace Harness.Onnx.Tests.Decoder;

/// <summary>
/// ONNX Runtime's one decoder: sequences that join together (a ragged prefill), join while others
/// decode, leave early (their rows taken by the last) and run while the cache grows and shrinks, each
/// get the greedy tokens the reference decoder gives for its prompt alone.
/// </summary>
public class OnnxDecoderTests
{
    private const int WeightSeed = 7;

    /// <summary>Several joiners per iteration, prompts of different lengths, leaving from below (5 at once at most).</summary>
    private static readonly (int Step, int Slot, int Prompt, int NewTokens)[] RaggedJoins =
    [
        (0, 0, 5, 4),   // steps 0-3: leaves first, from row 0
        (0, 1, 2, 9),   // steps 0-8
        (0, 2, 7, 6),   // steps 0-5
        (3, 3, 3, 5),   // steps 3-7, with another joiner
        (3, 0, 11, 3),  // steps 3-5
        (6, 2, 1, 4),   // steps 6-9
    ];

    [Theory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void Sequences_joining_at_different_steps_get_the_reference_tokens(string model)
    {
        DecoderTestSupport.EnsureCache();
        DecoderConfig c = ModelCatalog.Load(model);
        using IStepDecoder decoder = new OnnxBackendProvider().CreateDecoder(
            BackendSpec.Parse("onnx:cpu"),
            new WorkloadOptions { Threads = 1 },
            new DecoderSpec { Model = c, DType = TensorDType.Float32, WeightSeed = WeightSeed, Slots = StaggeredJoins.Slots,
                Context = 24 });
        Assert.True(decoder.SupportsJoining);
        Assert.IsType<OnnxDecoder>(decoder);
        StaggeredJoins.AssertMatchesReference(c, WeightSeed, StaggeredJoins.Run(decoder, c.Vocab));
    }

    [Theory]
    [InlineData("tiny-llama-test", 64)]
    [InlineData("tiny-gpt2-test", 64)]
    [InlineData("tiny-llama-test", 2)]
    [InlineData("tiny-gpt2-test", 2)]
    public void A_ragged_prefill_gives_each_row_its_tokens_alone_while_rows_move_and_the_cache_resizes(string model, int blockTokens)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        using OnnxDecoder decoder = DecoderTestSupport.Decoder(c, slots: 5, context: 32, WeightSeed, blockTokens: blockTokens);
        StaggeredJoins.AssertMatchesReference(c, WeightSeed, StaggeredJoins.Run(decoder, c.Vocab, seed: 5, RaggedJoins), RaggedJoins);
        Assert.True(decoder.PeakCacheTokens > 0);
        if (blockTokens == 2)
        {
            Assert.True(decoder.PeakCacheTokens < 5 * 32, $"peak {decoder.PeakCacheTokens}: blocks of 2 stay below slots x context");
        }
    }

    [Theory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void A_fixed_cache_decodes_as_under_a_cuda_graph_with_the_same_tokens(string model)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        using OnnxDecoder decoder = DecoderTestSupport.Decoder(c, slots: 5, context: 32, WeightSeed, fixedShapes: true);
        StaggeredJoins.AssertMatchesReference(c, WeightSeed, StaggeredJoins.Run(decoder, c.Vocab, seed: 5, RaggedJoins), RaggedJoins);
        Assert.Equal(5L * 32, decoder.PeakCacheTokens);
        Assert.Contains("fixed", (string)decoder.Details[ConfigKeys.DecodeShapes]!);
    }

    [Fact]
    public void A_context_beyond_the_model_is_one_sentence_before_anything_loads()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-gpt2-test");
        var e = Assert.Throws<HarnessException>(() => DecoderTestSupport.Decoder(c, 2, c.MaxPositions + 1));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("max_positions", e.Message);
    }

    [Fact]
    public void A_cuda_graph_on_the_cpu_is_one_sentence()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-gpt2-test");
        var e = Assert.Throws<HarnessException>(() => new OnnxBackendProvider().CreateDecoder(
            BackendSpec.Parse("onnx:cpu"),
            new WorkloadOptions { Extra = new Dictionary<string, string> { ["cuda_graph"] = "1" } },
            new DecoderSpec { Model = c, DType = TensorDType.Float32, Slots = 2, Context = 16 }));
        Assert.Contains("cuda_graph=1 needs onnx:cuda", e.Message);
    }
}
