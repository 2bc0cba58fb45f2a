using Harness.Backends;
using Harness.Decoding;
using Harness.Models;
using Harness.Onnx.Decoder;
using Harness.Testing;

namespace Harness.Onnx.Tests.Decoder;

/// <summary>Shared helpers: a model cache shared by test runs, decoders, and greedy generation with logits.</summary>
internal static class DecoderTestSupport
{
    public static string EnsureCache() => TestCache.Ensure();

    public static DecoderConfig Tiny(string name) => ModelCatalog.Load(name);

    /// <summary>An ONNX Runtime CPU decoder (one thread) of the generated graph.</summary>
    public static OnnxDecoder Decoder(
        DecoderConfig c, int slots, int context, int weightSeed = 7, TensorDType dtype = TensorDType.Float32,
        int blockTokens = BatchDecoder.DefaultBlockTokens, bool fixedShapes = false, WeightQuantization? quant = null)
    {
        EnsureCache();
        var spec = new DecoderSpec
        {
            Model = c, DType = dtype, WeightSeed = weightSeed, Slots = slots, Context = context, Quantization = quant,
        };
        var options = new WorkloadOptions { Threads = 1 };
        return new OnnxDecoder(BackendSpec.Parse("onnx:cpu"), options, spec, TextWriter.Null, blockTokens, fixedShapes);
    }

    /// <summary>
    /// Greedy generation on ONNX Runtime CPU, the batch's sequences joining in one prefill: per step,
    /// the tokens and the last-position logits (row-major, one row per sequence).
    /// </summary>
    public static (long[][] Tokens, float[][] Logits) GenerateOnnx(DecoderConfig c, int batch, long[] prompt, int promptTokens, int newTokens, int weightSeed = 7, bool fixedDecodeShapes = false, TensorDType dtype = TensorDType.Float32,
        WeightQuantization? quant = null)
    {
        // A model read from an ONNX folder runs its own graph (ConcatDecoder); else the generated one.
        using BatchDecoder decoder = c.OnnxGraph is null
            ? Decoder(c, batch, promptTokens + newTokens, weightSeed, dtype, fixedShapes: fixedDecodeShapes, quant: quant)
            : new ConcatDecoder(BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 1 },
                new DecoderSpec { Model = c, DType = dtype, WeightSeed = weightSeed, Slots = batch, Context = promptTokens + newTokens });
        var sequences = Enumerable.Range(0, batch)
            .Select(b => new DecodeSequence(b, promptTokens, newTokens, prompt.AsMemory(b * promptTokens, promptTokens)))
            .ToArray();
        var tokens = new long[newTokens][];
        var logits = new float[newTokens][];
        for (int i = 0; i < newTokens; i++)
        {
            decoder.Step(i == 0 ? sequences : [], i == 0 ? [] : sequences, CancellationToken.None);
            tokens[i] = sequences.Select(s => s.LastToken).ToArray();
            logits[i] = decoder is ConcatDecoder concat
                ? concat.LastLogits(batch).ToArray()
                : ((OnnxDecoder)decoder).LastLogits(batch).ToArray();
        }

        return (tokens, logits);
    }

    /// <summary>||a - b||_2 / ||b||_2.</summary>
    public static double RelativeError(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double diff = a[i] - b[i];
            num += diff * diff;
            den += (double)b[i] * b[i];
        }

        return Math.Sqrt(num / Math.Max(den, 1e-30));
    }
}
