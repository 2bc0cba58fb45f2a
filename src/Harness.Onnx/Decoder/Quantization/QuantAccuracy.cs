using Harness.Backends;
using Harness.Decoding;
using Harness.Models;

namespace Harness.Onnx.Decoder.Quantization;

/// <summary>One quantized format against the fp32 model: how often its next token is fp32's, and how far its distribution is.</summary>
/// <param name="Format">"int8, block 32, symmetric, accuracy_level 4".</param>
/// <param name="Top1Agreement">Share of prompts whose argmax is the fp32 model's.</param>
/// <param name="MeanKl">Mean KL(fp32 || quantized) of the next-token distributions, nats.</param>
/// <param name="MaxKl">Largest KL over the prompts, nats.</param>
public sealed record QuantAccuracyRow(string Format, int Prompts, double Top1Agreement, double MeanKl, double MaxKl);

/// <summary>
/// Accuracy of weight-only quantized decoders, stated (a measurement, not a gate): the same seeded model
/// in fp32 and in each format on ONNX Runtime's CPU provider, the next-token distribution after each of
/// N seeded prompts (uniform random token ids, each prompt prefilled, its last position's logits):
/// top-1 agreement with fp32 and the mean KL(fp32 || quantized).
/// </summary>
public static class QuantAccuracy
{
    private const int Batch = 8;

    public static IReadOnlyList<QuantAccuracyRow> Measure(
        DecoderConfig c, IReadOnlyList<WeightQuantization> formats, int prompts, int promptTokens, int seed, int weightSeed, int? threads,
        TextWriter log)
    {
        var ids = new long[(long)prompts * promptTokens];
        GenerateSettings.FillPrompt(ids, seed, c.Vocab);
        float[][] reference = Logits(c, null, ids, prompts, promptTokens, weightSeed, threads, log);
        var rows = new List<QuantAccuracyRow>();
        foreach (WeightQuantization q in formats)
        {
            float[][] quantized = Logits(c, q, ids, prompts, promptTokens, weightSeed, threads, log);
            int agree = 0;
            double sum = 0, max = 0;
            for (int i = 0; i < prompts; i++)
            {
                agree += ReferenceDecoder.ArgMax(reference[i]) == ReferenceDecoder.ArgMax(quantized[i]) ? 1 : 0;
                double kl = KlDivergence(reference[i], quantized[i]);
                sum += kl;
                max = Math.Max(max, kl);
            }

            rows.Add(new QuantAccuracyRow(q.Describe(), prompts, (double)agree / prompts, sum / prompts, max));
        }

        return rows;
    }

    /// <summary>KL(softmax(p) || softmax(q)) in nats, computed in double from the logits.</summary>
    public static double KlDivergence(ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        double pMax = double.MinValue, qMax = double.MinValue;
        for (int i = 0; i < p.Length; i++)
        {
            pMax = Math.Max(pMax, p[i]);
            qMax = Math.Max(qMax, q[i]);
        }

        double pSum = 0, qSum = 0;
        for (int i = 0; i < p.Length; i++)
        {
            pSum += Math.Exp(p[i] - pMax);
            qSum += Math.Exp(q[i] - qMax);
        }

        double pLog = pMax + Math.Log(pSum), qLog = qMax + Math.Log(qSum), kl = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double lp = p[i] - pLog;
            kl += Math.Exp(lp) * (lp - (q[i] - qLog));
        }

        return Math.Max(0, kl);
    }

    private static float[][] Logits(
        DecoderConfig c, WeightQuantization? q, long[] ids, int prompts, int promptTokens, int weightSeed, int? threads, TextWriter log)
    {
        var spec = new DecoderSpec
        {
            Model = c, DType = TensorDType.Float32, Quantization = q, WeightSeed = weightSeed, Slots = Batch, Context = promptTokens + 1,
        };
        var result = new float[prompts][];
        using var decoder = new OnnxDecoder(BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = threads }, spec, log);
        for (int start = 0; start < prompts; start += Batch)
        {
            int n = Math.Min(Batch, prompts - start);
            var sequences = Enumerable.Range(0, n)
                .Select(i => new DecodeSequence(i, promptTokens, 1, ids.AsMemory((start + i) * promptTokens, promptTokens)))
                .ToArray();
            decoder.Step(sequences, [], CancellationToken.None);
            ReadOnlySpan<float> logits = decoder.LastLogits(n);
            for (int i = 0; i < n; i++)
            {
                result[start + i] = logits.Slice(i * c.Vocab, c.Vocab).ToArray();
                decoder.Release(sequences[i]);
            }
        }

        return result;
    }
}
