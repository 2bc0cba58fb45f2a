using Harness.Backends;
using Harness.Models;
using Harness.Models.Formats;
using Xunit.Abstractions;

namespace Harness.Onnx.Tests.Decoder;

/// <summary>
/// int8/int4 weights (MatMulNBits) on the CPU provider: logits close to the fp32 graph's, and a GGUF
/// file's q4_0/q8_0 blocks mapped as they are give the logits of the harness's own quantization of the
/// same weights. The tiny Llama here has an intermediate size of 192 (tiny-llama-test's 176 is not whole
/// blocks of 32).
/// </summary>
public sealed class QuantizedDecoderTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 7;
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-quant-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static DecoderConfig TinyLlama(bool tied = false) => ModelCatalog.Parse($$"""
        { "name": "tiny-llama-quant{{(tied ? "-tied" : "")}}", "architecture": "llama", "hidden": 64, "intermediate": 192, "layers": 2,
          "heads": 4, "kv_heads": 2, "vocab": 256, "max_positions": 128, "tie_embeddings": {{(tied ? "true" : "false")}} }
        """);

    private static long[] Prompt(DecoderConfig c, int batch, int promptTokens) =>
        new GenerateSettings { Model = c, PromptTokens = promptTokens, DType = TensorDType.Float32 }.Prompt(batch, seed: 3);

    /// <summary>
    /// Tolerances from the quantization steps: a symmetric block's step is max|w| / 127 (int8) or max|w| / 8
    /// (int4), uniform rounding error of step / sqrt(12), i.e. about 0.5% (int8) and 8% (int4) of a weight's
    /// spread with these bounded-normal weights; accuracy_level 4 also rounds the activations to int8 per
    /// block. Measured relative logit errors on this model (printed by the test): int8 0.005 to 0.008, int4 0.08
    /// to 0.094 (accuracy_level 4 and 0, symmetric and with zero points, alike); the bounds leave 3x (int4) to 5x
    /// (int8) headroom for other machines' kernels, and the test also fails when the logits equal fp32's.
    /// </summary>
    [Theory]
    [InlineData(8, false, 4, 0.04)]
    [InlineData(4, false, 4, 0.3)]
    [InlineData(4, false, 0, 0.3)]
    [InlineData(4, true, 4, 0.3)]
    [InlineData(8, true, 0, 0.04)]
    public void Quantized_logits_are_close_to_fp32(int bits, bool zeroPoints, int accuracyLevel, double tolerance)
    {
        foreach (bool tied in new[] { false, true })
        {
            DecoderConfig c = TinyLlama(tied);
            const int batch = 2, promptTokens = 6, newTokens = 3;
            long[] prompt = Prompt(c, batch, promptTokens);
            var quant = new WeightQuantization(bits, 32, zeroPoints, accuracyLevel);
            (_, float[][] reference) = DecoderTestSupport.GenerateOnnx(c, batch, prompt, promptTokens, newTokens, Seed);
            (_, float[][] quantized) = DecoderTestSupport.GenerateOnnx(c, batch, prompt, promptTokens, newTokens, Seed, quant: quant);
            // The first step's logits share the prompt; later steps may follow different tokens, so compare the prefill.
            double err = DecoderTestSupport.RelativeError(quantized[0], reference[0]);
            output.WriteLine($"{quant.Describe()} tied={tied}: relative logit error {err:g3}");
            Assert.True(err < tolerance, $"{quant.Describe()} tied={tied}: relative logit error {err:g3} (bound {tolerance})");
            Assert.True(err > 0, $"{quant.Describe()}: logits identical to fp32, so the weights were not quantized");
        }
    }

    /// <summary>
    /// A q4_0 (q8_0) GGUF file run as int4 (int8): its blocks repacked into MatMulNBits as they are give the
    /// logits of the same weights quantized by the harness (the file's weights dequantized into a Hugging Face
    /// folder and quantized when the graph is built): the quantizer reproduces llama.cpp's blocks exactly.
    /// </summary>
    [Theory]
    [InlineData(TensorElement.Q4Zero, 4, false)]
    [InlineData(TensorElement.Q4Zero, 4, true)]
    [InlineData(TensorElement.Q8Zero, 8, false)]
    public void Gguf_blocks_give_the_logits_of_the_harness_quantization_of_the_same_weights(TensorElement blocks, int bits, bool tied)
    {
        DecoderConfig c = TinyLlama(tied);
        string gguf = Path.Combine(_dir, $"{c.Name}-{blocks.Name()}.gguf"), hf = Path.Combine(_dir, $"{c.Name}-{blocks.Name()}-hf");
        using (var gen = new WeightGenerator(Seed, c.Layers))
        {
            ModelExport.Write(c, TensorDType.Float32, ExportFormat.Gguf, gguf, gen, ggufMatrices: blocks);
        }

        DecoderConfig fromGguf = ModelCatalog.Load(gguf);
        using (CheckpointWeights weights = CheckpointWeights.Open(fromGguf, gguf))
        {
            ModelExport.Write(fromGguf, TensorDType.Float32, ExportFormat.Hf, hf, weights);
        }

        DecoderConfig fromHf = ModelCatalog.Load(hf);
        var quant = new WeightQuantization(bits, 32, ZeroPoints: false, AccuracyLevel: 4);
        Assert.Contains("repacked into MatMulNBits as they are", ModelFiles.QuantizationSource(fromGguf, quant));
        Assert.Contains("quantized by the harness at load", ModelFiles.QuantizationSource(fromHf, quant));
        const int batch = 2, promptTokens = 6, newTokens = 4;
        long[] prompt = Prompt(c, batch, promptTokens);
        (long[][] ggufTokens, float[][] ggufLogits) =
            DecoderTestSupport.GenerateOnnx(fromGguf, batch, prompt, promptTokens, newTokens, quant: quant);
        (long[][] hfTokens, float[][] hfLogits) =
            DecoderTestSupport.GenerateOnnx(fromHf, batch, prompt, promptTokens, newTokens, quant: quant);
        for (int step = 0; step < newTokens; step++)
        {
            double err = DecoderTestSupport.RelativeError(ggufLogits[step], hfLogits[step]);
            Assert.True(err < 1e-5, $"{blocks.Name()} tied={tied} step {step}: relative error {err:g3}");
            Assert.Equal(hfTokens[step], ggufTokens[step]);
        }
    }
}
