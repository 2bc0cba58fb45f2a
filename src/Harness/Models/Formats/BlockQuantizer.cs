using System.Buffers.Binary;
using Harness.Backends;

namespace Harness.Models.Formats;

/// <summary>
/// A matrix in ONNX Runtime's MatMulNBits layout: B [N, K / block, block x bits / 8] bytes (row n holds
/// output n's K weights, block after block; 4-bit values two to a byte, the even one in the low nibble),
/// one scale per block [N, K / block], and, when asymmetric, zero points [N, ceil(K / block x bits / 8)]
/// packed the same way (none: MatMulNBits' default zero point 2^(bits-1), i.e. symmetric). With
/// <see cref="Float8"/> the bytes are fp8 E4M3 values, [N, K] (MatMulBlockQuantizedFp8Weight's B; the same bytes as
/// 8-bit blocks), and a weight is e4m3 x its block's scale.
/// </summary>
/// <param name="Source">Where the blocks came from, in words ("quantized by the harness", "GGUF q4_0 blocks repacked").</param>
public sealed record QuantizedMatrix(int N, int K, int Bits, int Block, byte[] Data, float[] Scales, byte[]? ZeroPoints, string Source)
{
    /// <summary>fp8 E4M3 values rather than unsigned integers.</summary>
    public bool Float8 { get; init; }

    public int BlocksPerRow => K / Block;

    public int BlobBytes => Block * Bits / 8;

    /// <summary>Bytes of one row's packed zero points.</summary>
    public int ZeroPointBytesPerRow => ((BlocksPerRow * Bits) + 7) / 8;

    /// <summary>Weight (n, k) as the kernel reads it: (q - zero point) x scale.</summary>
    public float Dequantize(int n, int k)
    {
        int b = k / Block;
        if (Float8)
        {
            return Float8E4M3.ToFloat(Data[((long)n * K) + k]) * Scales[((long)n * BlocksPerRow) + b];
        }

        int q = Nibble(Data, ((long)n * BlocksPerRow * BlobBytes) + (b * BlobBytes), k % Block, Bits);
        int zp = ZeroPoints is null ? 1 << (Bits - 1) : Nibble(ZeroPoints, (long)n * ZeroPointBytesPerRow, b, Bits);
        return (q - zp) * Scales[((long)n * BlocksPerRow) + b];
    }

    /// <summary>Whether <paramref name="b"/>'s rows can follow <paramref name="a"/>'s in one MatMulNBits node.</summary>
    public static bool SameLayout(QuantizedMatrix a, QuantizedMatrix b) =>
        a.K == b.K && a.Bits == b.Bits && a.Block == b.Block && (a.ZeroPoints is null) == (b.ZeroPoints is null) && a.Float8 == b.Float8;

    /// <summary><paramref name="a"/>'s outputs, then <paramref name="b"/>'s (<see cref="SameLayout"/>).</summary>
    public static QuantizedMatrix Join(QuantizedMatrix a, QuantizedMatrix b) => new(
        a.N + b.N, a.K, a.Bits, a.Block, [.. a.Data, .. b.Data], [.. a.Scales, .. b.Scales],
        a.ZeroPoints is null ? null : [.. a.ZeroPoints, .. b.ZeroPoints!], a.Source == b.Source ? a.Source : $"{a.Source}; {b.Source}")
    {
        Float8 = a.Float8,
    };

    private static int Nibble(byte[] bytes, long rowStart, int index, int bits) => bits == 8
        ? bytes[rowStart + index]
        : (bytes[rowStart + (index / 2)] >> ((index % 2) * 4)) & 0xF;
}

/// <summary>
/// Block quantization of fp32 weights, deterministic: the harness's int8/int4 (MatMulNBits) and the
/// GGUF blocks it writes (llama.cpp's q8_0 and q4_0) share one rounding, so the same weights give the
/// same integers and scales whichever way they reach ONNX Runtime.
/// <list type="bullet">
/// <item>4-bit symmetric (llama.cpp's quantize_row_q4_0_ref): m = the value of largest magnitude, sign kept;
/// d = m / -8; q = min(15, trunc(x / d + 8.5)); value = (q - 8) x d.</item>
/// <item>8-bit symmetric (quantize_row_q8_0_ref): d = max|x| / 127; q = round(x / d) (half away from zero);
/// value = q x d; stored for MatMulNBits as q + 128 (its default zero point).</item>
/// <item>With zero points: the block's range with 0 in it, scale = (max - min) / (2^bits - 1),
/// zp = round(-min / scale), q = clamp(round(x / scale) + zp).</item>
/// <item>fp8 E4M3: scale = max|x| / 448 (fp32, kept as it is: MatMulBlockQuantizedFp8Weight reads fp32 scales);
/// value = e4m3(x / scale), to nearest even (<see cref="Float8E4M3"/>).</item>
/// </list>
/// Integer blocks' scales are rounded to fp16 (as GGUF stores them) whatever type the graph keeps them in.
/// </summary>
public static class BlockQuantizer
{
    /// <summary>GGUF's q4_0 and q8_0 blocks hold 32 weights.</summary>
    public const int GgufBlock = 32;

    /// <summary>The harness's own quantization of an [N, K] matrix (rows = outputs), in parallel over rows.</summary>
    public static QuantizedMatrix Quantize(float[] nk, int n, int k, WeightQuantization q)
    {
        if (k % q.Block != 0)
        {
            throw new ArgumentException($"K {k} is not a multiple of the block {q.Block}", nameof(k));
        }

        if (q.Float8)
        {
            return QuantizeFloat8(nk, n, k, q);
        }

        int blocks = k / q.Block, blob = q.Block * q.Bits / 8, zpRow = ((blocks * q.Bits) + 7) / 8;
        var data = new byte[(long)n * blocks * blob];
        var scales = new float[(long)n * blocks];
        byte[]? zeroPoints = q.ZeroPoints ? new byte[(long)n * zpRow] : null;
        Parallel.For(0, n, row =>
        {
            var values = new byte[q.Block];
            for (int b = 0; b < blocks; b++)
            {
                ReadOnlySpan<float> x = nk.AsSpan((int)(((long)row * k) + ((long)b * q.Block)), q.Block);
                float scale;
                if (q.ZeroPoints)
                {
                    (scale, byte zp) = QuantizeAsymmetric(x, values, q.Bits);
                    SetPacked(zeroPoints!.AsSpan(row * zpRow, zpRow), b, zp, q.Bits);
                }
                else
                {
                    scale = q.Bits == 4 ? QuantizeQ4(x, values) : QuantizeQ8(x, values);
                }

                scales[((long)row * blocks) + b] = scale;
                Pack(values, data.AsSpan((int)((((long)row * blocks) + b) * blob), blob), q.Bits);
            }
        });
        return new QuantizedMatrix(n, k, q.Bits, q.Block, data, scales, zeroPoints, $"quantized by the harness ({q.Describe()})");
    }

    private static QuantizedMatrix QuantizeFloat8(float[] nk, int n, int k, WeightQuantization q)
    {
        int blocks = k / q.Block;
        var data = new byte[(long)n * k];
        var scales = new float[(long)n * blocks];
        Parallel.For(0, n, row =>
        {
            for (int b = 0; b < blocks; b++)
            {
                long start = ((long)row * k) + ((long)b * q.Block);
                ReadOnlySpan<float> x = nk.AsSpan((int)start, q.Block);
                float amax = 0;
                foreach (float v in x)
                {
                    amax = Math.Max(amax, Math.Abs(v));
                }

                float scale = amax / Float8E4M3.MaxValue, inverse = amax > 0 ? 1 / scale : 0;
                scales[((long)row * blocks) + b] = scale;
                for (int j = 0; j < x.Length; j++)
                {
                    data[start + j] = Float8E4M3.FromFloat(x[j] * inverse);
                }
            }
        });
        return new QuantizedMatrix(n, k, 8, q.Block, data, scales, null, $"quantized by the harness ({q.Describe()})") { Float8 = true };
    }

    /// <summary>The canonical [K, N] matrix (x @ W) as [N, K] rows of outputs (MatMulNBits' B before packing).</summary>
    public static float[] Transpose(float[] kn, int k, int n)
    {
        var nk = new float[(long)k * n];
        const int tile = 64;
        Parallel.For(0, (k + tile - 1) / tile, tk =>
        {
            int k0 = tk * tile, k1 = Math.Min(k, k0 + tile);
            for (int n0 = 0; n0 < n; n0 += tile)
            {
                int n1 = Math.Min(n, n0 + tile);
                for (int r = k0; r < k1; r++)
                {
                    for (int c = n0; c < n1; c++)
                    {
                        nk[((long)c * k) + r] = kn[((long)r * n) + c];
                    }
                }
            }
        });
        return nk;
    }

    /// <summary>
    /// GGUF blocks (q4_0 or q8_0; [N rows x K / 32 blocks], each row's blocks in order) repacked into
    /// MatMulNBits' layout without touching a value: q4_0's nibbles reordered (llama.cpp keeps the
    /// block's first 16 values in the low nibbles, MatMulNBits pairs neighbours), q8_0's int8 offset by
    /// 128 (MatMulNBits' default zero point), the fp16 scales widened.
    /// </summary>
    public static QuantizedMatrix FromGgufBlocks(ReadOnlySpan<byte> blocks, int n, int k, TensorElement element, string? source = null)
    {
        int bits = element switch
        {
            TensorElement.Q4Zero => 4,
            TensorElement.Q8Zero => 8,
            _ => throw new ArgumentOutOfRangeException(nameof(element), element, "only q4_0 and q8_0 blocks map into MatMulNBits"),
        };
        int perRow = k / GgufBlock, size = element.BlockBytes(), blob = GgufBlock * bits / 8;
        var data = new byte[(long)n * perRow * blob];
        var scales = new float[(long)n * perRow];
        for (long i = 0; i < (long)n * perRow; i++)
        {
            ReadOnlySpan<byte> block = blocks.Slice((int)(i * size), size);
            scales[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
            Span<byte> o = data.AsSpan((int)(i * blob), blob);
            if (bits == 4)
            {
                ReadOnlySpan<byte> qs = block.Slice(2, 16);
                for (int j = 0; j < 16; j++)
                {
                    // Values 2j and 2j + 1 of the block: value v < 16 is qs[v]'s low nibble, v >= 16 qs[v - 16]'s high one.
                    o[j] = (byte)(Q4Value(qs, 2 * j) | (Q4Value(qs, (2 * j) + 1) << 4));
                }
            }
            else
            {
                for (int j = 0; j < 32; j++)
                {
                    o[j] = (byte)(block[2 + j] ^ 0x80);
                }
            }
        }

        return new QuantizedMatrix(n, k, bits, GgufBlock, data, scales, null,
            source ?? $"GGUF {element.Name()} blocks repacked into MatMulNBits (no dequantize/requantize)");
    }

    /// <summary>One block of 32 as llama.cpp's q4_0 (fp16 d; qs[16]: value i in qs[i]'s low nibble, i + 16 in its high) or q8_0.</summary>
    public static void EncodeGgufBlock(TensorElement element, ReadOnlySpan<float> x, Span<byte> block)
    {
        Span<byte> q = stackalloc byte[GgufBlock];
        if (element == TensorElement.Q4Zero)
        {
            BinaryPrimitives.WriteHalfLittleEndian(block, (Half)QuantizeQ4(x, q));
            for (int j = 0; j < 16; j++)
            {
                block[2 + j] = (byte)(q[j] | (q[j + 16] << 4));
            }

            return;
        }

        BinaryPrimitives.WriteHalfLittleEndian(block, (Half)QuantizeQ8(x, q));
        for (int j = 0; j < 32; j++)
        {
            block[2 + j] = (byte)(q[j] ^ 0x80);
        }
    }

    /// <summary>llama.cpp's q4_0 rounding of one block: q in 0..15 (zero point 8); returns d (rounded to fp16).</summary>
    public static float QuantizeQ4(ReadOnlySpan<float> x, Span<byte> q)
    {
        float amax = 0, max = 0;
        foreach (float v in x)
        {
            if (amax < Math.Abs(v))
            {
                amax = Math.Abs(v);
                max = v;
            }
        }

        float d = max / -8, id = d != 0 ? 1 / d : 0;
        for (int i = 0; i < x.Length; i++)
        {
            q[i] = (byte)Math.Min(15, (int)((x[i] * id) + 8.5f));
        }

        return (float)(Half)d;
    }

    /// <summary>llama.cpp's q8_0 rounding of one block: q + 128 (zero point 128); returns d (rounded to fp16).</summary>
    public static float QuantizeQ8(ReadOnlySpan<float> x, Span<byte> q)
    {
        float amax = 0;
        foreach (float v in x)
        {
            amax = Math.Max(amax, Math.Abs(v));
        }

        float d = amax / 127, id = d != 0 ? 1 / d : 0;
        for (int i = 0; i < x.Length; i++)
        {
            q[i] = (byte)((int)MathF.Round(x[i] * id, MidpointRounding.AwayFromZero) + 128);
        }

        return (float)(Half)d;
    }

    /// <summary>One block with a zero point: q in 0..2^bits - 1; returns the scale (rounded to fp16) and the zero point.</summary>
    public static (float Scale, byte ZeroPoint) QuantizeAsymmetric(ReadOnlySpan<float> x, Span<byte> q, int bits)
    {
        int qmax = (1 << bits) - 1;
        float min = 0, max = 0;
        foreach (float v in x)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        float scale = (float)(Half)((max - min) / qmax);
        float id = scale != 0 ? 1 / scale : 0;
        int zp = Math.Clamp((int)MathF.Round(-min * id, MidpointRounding.AwayFromZero), 0, qmax);
        for (int i = 0; i < x.Length; i++)
        {
            q[i] = (byte)Math.Clamp((int)MathF.Round(x[i] * id, MidpointRounding.AwayFromZero) + zp, 0, qmax);
        }

        return (scale, (byte)zp);
    }

    private static int Q4Value(ReadOnlySpan<byte> qs, int v) => v < 16 ? qs[v] & 0xF : qs[v - 16] >> 4;

    private static void Pack(ReadOnlySpan<byte> values, Span<byte> blob, int bits)
    {
        if (bits == 8)
        {
            values.CopyTo(blob);
            return;
        }

        for (int j = 0; j < blob.Length; j++)
        {
            blob[j] = (byte)(values[2 * j] | (values[(2 * j) + 1] << 4));
        }
    }

    private static void SetPacked(Span<byte> row, int index, byte value, int bits)
    {
        if (bits == 8)
        {
            row[index] = value;
            return;
        }

        int shift = (index % 2) * 4;
        row[index / 2] = (byte)((row[index / 2] & ~(0xF << shift)) | (value << shift));
    }
}
