using System.Runtime.InteropServices;
using Harness.Backends;
using Harness.Metrics;
using Harness.Models;
using Harness.Models.Formats;
using static Harness.Onnx.Decoder.OnnxAttr;

namespace Harness.Onnx.Decoder.Quantization;

/// <summary>
/// The matrix products of a decoder graph with weight-only quantized weights: ONNX Runtime's
/// <c>com.microsoft MatMulNBits</c> (CPU and CUDA providers), its B operand [N, K / block, blob] (uint8),
/// scales [N, K / block] in the graph's float type, and zero points when asymmetric. Each matrix's
/// blocks come from the weight source where it has them (a GGUF file's q4_0 / q8_0 / q4_K / q6_K blocks,
/// <see cref="CheckpointWeights.MappingOf"/>; a matrix whose parts map to different layouts is one node
/// per part, concatenated), else from the fp32 weights quantized here (<see cref="BlockQuantizer"/>),
/// deterministic, once, when the graph is built (and cached with it). fp8 weights (<see cref="WeightQuantization.Float8"/>) are
/// <c>com.microsoft MatMulBlockQuantizedFp8Weight</c> nodes instead (CUDA only: B [N, K] E4M3, fp32 scales [N, K / block]), or,
/// <see cref="WeightQuantization.Widened"/> for the CPU provider, a plain MatMul of the same fp8 values times their scales.
/// </summary>
internal sealed class QuantizedMatMul(GraphBuilder g, WeightQuantization q, IWeightSource source)
{
    private readonly HashSet<string> _sources = new(StringComparer.Ordinal);

    /// <summary>Where the blocks came from, each way once ("quantized by the harness (...)", "GGUF q4_0 blocks repacked...").</summary>
    public IReadOnlyCollection<string> Sources => _sources;

    /// <summary>y = x @ W for a canonical [K, N] weight (K inputs, N outputs).</summary>
    public string MatMul(string input, WeightSpec spec)
    {
        int k = (int)spec.Shape[0], n = (int)spec.Shape[1];
        return Emit(input, spec.Name, source.QuantizedBlocks(spec, outputsFirst: false, q)
            ?? [BlockQuantizer.Quantize(BlockQuantizer.Transpose(source.Generate(spec), k, n), n, k, q)]);
    }

    /// <summary>A tied model's LM head: logits = x @ E^T, E the [vocab, hidden] embedding (already MatMulNBits' [N, K]).</summary>
    public string TiedLmHead(string input, WeightSpec embedding)
    {
        int n = (int)embedding.Shape[0], k = (int)embedding.Shape[1];
        return Emit(input, WeightLayout.LmHead, source.QuantizedBlocks(embedding, outputsFirst: true, q)
            ?? [BlockQuantizer.Quantize(source.Generate(embedding), n, k, q)]);
    }

    /// <summary>One MatMulNBits node per piece of consecutive outputs, joined along the outputs where there are several.</summary>
    private string Emit(string input, string name, IReadOnlyList<QuantizedMatrix> pieces) => pieces is [var whole]
        ? Emit(input, name, whole)
        : g.Node("Concat", pieces.Select((m, i) => Emit(input, $"{name}.part{i}", m)).ToArray(), attrs: new Int("axis", -1));

    private string Emit(string input, string name, QuantizedMatrix m)
    {
        _sources.Add(m.Source);
        if (m.Float8)
        {
            return q.Widened ? EmitWidened(input, name, m) : EmitFloat8(input, name, m);
        }

        var inputs = new List<string>
        {
            input,
            g.Raw(name + ".qweight", OnnxType.UInt8, m.Data, m.N, m.BlocksPerRow, m.BlobBytes),
            g.Table(name + ".scales", m.Scales, m.N, m.BlocksPerRow),
        };
        if (m.ZeroPoints is { } zp)
        {
            inputs.Add(g.Raw(name + ".zero_points", OnnxType.UInt8, zp, m.N, m.ZeroPointBytesPerRow));
        }

        return g.Node("MatMulNBits", [.. inputs], domain: "com.microsoft", attrs:
        [
            new Int("K", m.K), new Int("N", m.N), new Int("bits", m.Bits), new Int("block_size", m.Block),
            new Int(ConfigKeys.AccuracyLevel, q.AccuracyLevel), // the attribute's name is the config key's
        ]);
    }

    /// <summary>
    /// y = x @ W^T, W the [N, K] fp8 values with fp32 scales [N, K / block] (up to 8 rows, as in decode: one fused GEMV in
    /// ONNX Runtime; more rows: the weight dequantized into a scratch buffer, then cuBLAS).
    /// </summary>
    private string EmitFloat8(string input, string name, QuantizedMatrix m) => g.Node("MatMulBlockQuantizedFp8Weight",
    [
        input,
        g.Raw(name + ".fp8_weight", OnnxType.Float8E4M3FN, m.Data, m.N, m.K),
        g.Raw(name + ".fp8_scales", OnnxType.Float, MemoryMarshal.AsBytes(m.Scales.AsSpan()).ToArray(), m.N, m.BlocksPerRow),
    ], domain: "com.microsoft", attrs: new Int("block_size", m.Block));

    /// <summary>The same weights widened at build time into a [K, N] float initializer and a MatMul (no CPU kernel reads fp8).</summary>
    private string EmitWidened(string input, string name, QuantizedMatrix m)
    {
        var kn = new float[(long)m.K * m.N];
        Parallel.For(0, m.N, n =>
        {
            for (int k = 0; k < m.K; k++)
            {
                kn[((long)k * m.N) + n] = m.Dequantize(n, k);
            }
        });
        return g.Node("MatMul", [input, g.Table(name + ".fp8_widened", kn, m.K, m.N)]);
    }
}
