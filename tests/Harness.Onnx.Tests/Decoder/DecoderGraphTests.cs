using Harness.Backends;
using Harness.Models;

namespace Harness.Onnx.Tests.Decoder;

public class DecoderGraphTests
{
    [Theory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void Generated_graph_matches_the_reference_decoder(string model)
    {
        DecoderConfig c = DecoderTestSupport.Tiny(model);
        const int batch = 2, promptTokens = 5, newTokens = 6;
        var prompt = new long[batch * promptTokens];
        var rng = new Random(3);
        for (int i = 0; i < prompt.Length; i++)
        {
            prompt[i] = rng.Next(c.Vocab);
        }

        (long[][] tokens, float[][] logits) = DecoderTestSupport.GenerateOnnx(c, batch, prompt, promptTokens, newTokens);
        var reference = new ReferenceDecoder(c, weightSeed: 7);
        for (int b = 0; b < batch; b++)
        {
            var seq = prompt.AsSpan(b * promptTokens, promptTokens).ToArray().ToList();
            for (int step = 0; step < newTokens; step++)
            {
                float[] expected = reference.LastLogits(seq.ToArray());
                ReadOnlySpan<float> actual = logits[step].AsSpan(b * c.Vocab, c.Vocab);
                double err = DecoderTestSupport.RelativeError(actual, expected);
                Assert.True(err < 1e-4, $"{model} sequence {b} step {step}: relative error {err:g3}");
                Assert.Equal(ReferenceDecoder.ArgMax(expected), tokens[step][b]);
                seq.Add(tokens[step][b]);
            }
        }
    }
}

public class FixedDecodeShapeTests
{
    /// <summary>
    /// The CUDA-graph decode step keeps total_sequence_length at the cache length and lets seqlens_k
    /// carry each sequence's length; GroupQueryAttention must then attend exactly as with growing
    /// shapes. Checked here on the CPU provider, with a cache longer than the tokens generated.
    /// </summary>
    [Theory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void Fixed_shapes_decode_the_same_tokens_and_logits_as_growing_shapes(string model)
    {
        DecoderConfig c = DecoderTestSupport.Tiny(model);
        const int batch = 3, promptTokens = 7, newTokens = 9;
        var prompt = new long[batch * promptTokens];
        var rng = new Random(11);
        for (int i = 0; i < prompt.Length; i++)
        {
            prompt[i] = rng.Next(c.Vocab);
        }

        (long[][] growingTokens, float[][] growingLogits) = DecoderTestSupport.GenerateOnnx(c, batch, prompt, promptTokens, newTokens);
        (long[][] fixedTokens, float[][] fixedLogits) = DecoderTestSupport.GenerateOnnx(c, batch, prompt, promptTokens, newTokens, fixedDecodeShapes: true);
        for (int step = 0; step < newTokens; step++)
        {
            Assert.Equal(growingTokens[step], fixedTokens[step]);
            double err = DecoderTestSupport.RelativeError(fixedLogits[step], growingLogits[step]);
            Assert.True(err < 1e-5, $"{model} step {step}: relative error {err:g3}");
        }
    }
}

public class HalfPrecisionGraphTests
{
    /// <summary>
    /// The fp16 graph (what onnx:cuda runs) against the fp32 graph, both on the CPU provider: same
    /// weights rounded to half, so logits agree to half precision (measured ~5e-4 relative) and the
    /// greedy tokens match.
    /// </summary>
    [Theory]
    [InlineData("tiny-llama-test")]
    [InlineData("tiny-gpt2-test")]
    public void The_fp16_graph_agrees_with_the_fp32_graph(string model)
    {
        DecoderConfig c = DecoderTestSupport.Tiny(model);
        const int batch = 2, promptTokens = 6, newTokens = 5;
        var prompt = new long[batch * promptTokens];
        var rng = new Random(5);
        for (int i = 0; i < prompt.Length; i++)
        {
            prompt[i] = rng.Next(c.Vocab);
        }

        (long[][] tokens32, float[][] logits32) = DecoderTestSupport.GenerateOnnx(c, batch, prompt, promptTokens, newTokens);
        (long[][] tokens16, float[][] logits16) = DecoderTestSupport.GenerateOnnx(c, batch, prompt, promptTokens, newTokens, dtype: TensorDType.Float16);
        for (int step = 0; step < newTokens; step++)
        {
            double err = DecoderTestSupport.RelativeError(logits16[step], logits32[step]);
            Assert.True(err < 3e-3, $"{model} step {step}: fp16 vs fp32 relative error {err:g3}");
            Assert.Equal(tokens32[step], tokens16[step]);
        }
    }
}

public class DecoderAllocationTests
{
    [Fact]
    public void A_decode_step_allocates_nothing_on_the_managed_heap()
    {
        DecoderConfig c = DecoderTestSupport.Tiny("tiny-llama-test");
        using Harness.Onnx.Decoder.OnnxDecoder decoder = DecoderTestSupport.Decoder(c, slots: 2, context: 64);
        Harness.Decoding.DecodeSequence[] batch = [new(0, 4, 60), new(1, 3, 60)];
        decoder.Step(batch, [], CancellationToken.None);
        decoder.Step([], batch, CancellationToken.None);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++)
        {
            decoder.Step([], batch, CancellationToken.None);
        }

        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 50;
        Assert.True(perStep < 256, $"{perStep} bytes allocated per decode step");
    }
}
