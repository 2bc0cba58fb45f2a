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
