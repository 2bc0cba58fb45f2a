using System.Buffers.Binary;

namespace Harness.Models.Formats;

/// <summary>
/// llama.cpp's k-quant blocks of 256 weights: q4_K (<c>{half d; half dmin; uint8 scales[12]; uint8 qs[128]}</c>, 8 sub-blocks
/// of 32, w = d x sc x q - dmin x m with q in 0..15 and 6-bit sc, m) and q6_K (<c>{uint8 ql[128]; uint8 qh[64]; int8 scales[16];
/// half d}</c>, 16 sub-blocks of 16, w = d x sc x (q - 32) with q in 0..63 and int8 sc). Written by <see cref="EncodeQ4K"/> and
/// <see cref="EncodeQ6K"/> (a plain min/max quantizer, not llama.cpp's make_qkx2 search: llama.cpp reads the blocks all the same),
/// and mapped into MatMulNBits by <see cref="Q4KToNBits"/> and <see cref="Q6KToNBits"/>.
/// </summary>
public static class KQuants
{
    /// <summary>Weights per k-quant block (QK_K).</summary>
    public const int Block = 256;

    /// <summary>q4_K's sub-blocks: 8 of 32 weights, one MatMulNBits block each.</summary>
    public const int Q4KSub = 32;

    /// <summary>q6_K's sub-blocks: 16 of 16 weights.</summary>
    public const int Q6KSub = 16;

    /// <summary>
    /// One q4_K block of 256 values: per sub-block of 32, the range with 0 in it gives a scale (max - min) / 15 and a min
    /// (-min &gt;= 0); d and dmin (fp16) are the largest of them / 63, each sub-block's 6-bit sc and m their multiples of d and
    /// dmin rounded; q = round((x + dmin x m) / (d x sc)) in 0..15. <paramref name="reconstruction"/>, when given, gets the
    /// values the block decodes to.
    /// </summary>
    public static void EncodeQ4K(ReadOnlySpan<float> x, Span<byte> block, Span<float> reconstruction = default)
    {
        Span<float> scales = stackalloc float[8], mins = stackalloc float[8];
        for (int j = 0; j < 8; j++)
        {
            float min = 0, max = 0;
            foreach (float v in x.Slice(j * Q4KSub, Q4KSub))
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }

            scales[j] = (max - min) / 15;
            mins[j] = -min;
        }

        float d = (float)(Half)(Max(scales) / 63), dmin = (float)(Half)(Max(mins) / 63);
        BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
        BinaryPrimitives.WriteHalfLittleEndian(block[2..], (Half)dmin);
        Span<byte> packed = block.Slice(4, 12), qs = block.Slice(16, 128);
        packed.Clear();
        Span<byte> q = stackalloc byte[Block];
        for (int j = 0; j < 8; j++)
        {
            int sc = d > 0 ? Math.Clamp((int)MathF.Round(scales[j] / d, MidpointRounding.AwayFromZero), 0, 63) : 0;
            int m = dmin > 0 ? Math.Clamp((int)MathF.Round(mins[j] / dmin, MidpointRounding.AwayFromZero), 0, 63) : 0;
            SetScaleMin(packed, j, sc, m);
            float ds = d * sc, dm = dmin * m;
            for (int i = j * Q4KSub; i < (j + 1) * Q4KSub; i++)
            {
                q[i] = ds > 0 ? (byte)Math.Clamp((int)MathF.Round((x[i] + dm) / ds, MidpointRounding.AwayFromZero), 0, 15) : (byte)0;
                if (!reconstruction.IsEmpty)
                {
                    reconstruction[i] = (ds * q[i]) - dm;
                }
            }
        }

        // Each 64 values: the first 32 in the low nibbles of 32 bytes, the next 32 in their high nibbles.
        for (int c = 0; c < 4; c++)
        {
            for (int l = 0; l < 32; l++)
            {
                qs[(c * 32) + l] = (byte)(q[(c * 64) + l] | (q[(c * 64) + 32 + l] << 4));
            }
        }
    }

    /// <summary>
    /// One q6_K block of 256 values: per sub-block of 16, a scale max|x| / 31; d (fp16) is the largest / 127, each
    /// sub-block's int8 sc its multiple of d rounded; q = round(x / (d x sc)) in -32..31, stored + 32.
    /// </summary>
    public static void EncodeQ6K(ReadOnlySpan<float> x, Span<byte> block, Span<float> reconstruction = default)
    {
        Span<float> scales = stackalloc float[16];
        for (int j = 0; j < 16; j++)
        {
            float amax = 0;
            foreach (float v in x.Slice(j * Q6KSub, Q6KSub))
            {
                amax = Math.Max(amax, Math.Abs(v));
            }

            scales[j] = amax / 31;
        }

        float d = (float)(Half)(Max(scales) / 127);
        BinaryPrimitives.WriteHalfLittleEndian(block[208..], (Half)d);
        Span<byte> q = stackalloc byte[Block];
        for (int j = 0; j < 16; j++)
        {
            int sc = d > 0 ? Math.Clamp((int)MathF.Round(scales[j] / d, MidpointRounding.AwayFromZero), 0, 127) : 0;
            block[192 + j] = (byte)(sbyte)sc;
            float ds = d * sc;
            for (int i = j * Q6KSub; i < (j + 1) * Q6KSub; i++)
            {
                int v = ds > 0 ? Math.Clamp((int)MathF.Round(x[i] / ds, MidpointRounding.AwayFromZero), -32, 31) : 0;
                q[i] = (byte)(v + 32);
                if (!reconstruction.IsEmpty)
                {
                    reconstruction[i] = ds * v;
                }
            }
        }

        // Each half of 128: ql holds the low 4 bits (values l and l + 64 in one byte, l + 32 and l + 96 in another), qh the top 2.
        for (int h = 0; h < 2; h++)
        {
            Span<byte> ql = block.Slice(h * 64, 64), qh = block.Slice(128 + (h * 32), 32);
            ReadOnlySpan<byte> v = q.Slice(h * 128, 128);
            for (int l = 0; l < 32; l++)
            {
                ql[l] = (byte)((v[l] & 0xF) | ((v[l + 64] & 0xF) << 4));
                ql[l + 32] = (byte)((v[l + 32] & 0xF) | ((v[l + 96] & 0xF) << 4));
                qh[l] = (byte)((v[l] >> 4) | ((v[l + 32] >> 4) << 2) | ((v[l + 64] >> 4) << 4) | ((v[l + 96] >> 4) << 6));
            }
        }
    }

    /// <summary>
    /// q4_K rows ([N rows x K / 256 blocks]) as MatMulNBits 4-bit blocks of 32 with uint4 zero points: each sub-block's 4-bit
    /// values and its scale d x sc (exact in fp32) kept, its min dmin x m turned into the zero point dmin x m / (d x sc)
    /// rounded (exact only where that is an integer: ONNX Runtime's CPU kernel takes float zero points only unpacked, dequantizing
    /// the whole matrix each call). A sub-block whose zero point falls outside 0..15 (or whose scale is 0) is requantized from its
    /// values with a zero point (<see cref="BlockQuantizer"/>).
    /// </summary>
    public static QuantizedMatrix Q4KToNBits(ReadOnlySpan<byte> blocks, int n, int k, string source)
    {
        int perRow = k / Q4KSub, zpRow = (perRow + 1) / 2, size = TensorElement.Q4K.BlockBytes();
        var data = new byte[(long)n * perRow * 16];
        var scales = new float[(long)n * perRow];
        var zeroPoints = new byte[(long)n * zpRow];
        Span<float> values = stackalloc float[Block];
        Span<byte> sub = stackalloc byte[Q4KSub];
        for (int row = 0; row < n; row++)
        {
            for (int b = 0; b < k / Block; b++)
            {
                ReadOnlySpan<byte> block = blocks.Slice((int)((((long)row * (k / Block)) + b) * size), size);
                float d = Half16(block), dmin = Half16(block[2..]);
                ReadOnlySpan<byte> packed = block.Slice(4, 12), qs = block.Slice(16, 128);
                bool decoded = false;
                for (int j = 0; j < 8; j++)
                {
                    (int sc, int m) = ScaleMin(j, packed);
                    float scale = d * sc;
                    float zp = scale != 0 ? dmin * m / scale : float.NaN;
                    int z = float.IsFinite(zp) ? (int)MathF.Round(zp, MidpointRounding.AwayFromZero) : -1;
                    long at = ((long)row * perRow) + (b * 8) + j;
                    if (z is >= 0 and <= 15)
                    {
                        for (int i = 0; i < Q4KSub; i++)
                        {
                            // Sub-block j = values 32j..32j+31: chunk j/2's 32 bytes, low nibbles for even j, high for odd.
                            byte q = qs[((j / 2) * 32) + i];
                            sub[i] = (byte)(j % 2 == 0 ? q & 0xF : q >> 4);
                        }
                    }
                    else
                    {
                        if (!decoded)
                        {
                            TensorElement.Q4K.ToFloat(block, values);
                            decoded = true;
                        }

                        (scale, byte zq) = BlockQuantizer.QuantizeAsymmetric(values.Slice(j * Q4KSub, Q4KSub), sub, 4);
                        z = zq;
                    }

                    scales[at] = scale;
                    Span<byte> o = data.AsSpan((int)(at * 16), 16);
                    for (int i = 0; i < 16; i++)
                    {
                        o[i] = (byte)(sub[2 * i] | (sub[(2 * i) + 1] << 4));
                    }

                    int index = (b * 8) + j, shift = (index % 2) * 4;
                    ref byte zb = ref zeroPoints[((long)row * zpRow) + (index / 2)];
                    zb = (byte)((zb & ~(0xF << shift)) | (z << shift));
                }
            }
        }

        return new QuantizedMatrix(n, k, 4, Q4KSub, data, scales, zeroPoints, source);
    }

    /// <summary>
    /// q6_K rows as MatMulNBits 8-bit blocks of 16 without a round trip: each sub-block's scale |d x sc| (exact in fp32) and its
    /// values q - 32 stored as 128 + (q - 32), negated where sc is negative (MatMulNBits' default zero point 128).
    /// </summary>
    public static QuantizedMatrix Q6KToNBits(ReadOnlySpan<byte> blocks, int n, int k, string source)
    {
        int perRow = k / Q6KSub, size = TensorElement.Q6K.BlockBytes();
        var data = new byte[(long)n * k];
        var scales = new float[(long)n * perRow];
        for (long b = 0; b < (long)n * (k / Block); b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice((int)(b * size), size);
            float d = Half16(block[208..]);
            Span<byte> o = data.AsSpan((int)(b * Block), Block);
            for (int h = 0; h < 2; h++)
            {
                ReadOnlySpan<byte> ql = block.Slice(h * 64, 64), qh = block.Slice(128 + (h * 32), 32);
                for (int l = 0; l < 32; l++)
                {
                    o[(h * 128) + l] = (byte)((ql[l] & 0xF) | ((qh[l] & 3) << 4));
                    o[(h * 128) + l + 32] = (byte)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
                    o[(h * 128) + l + 64] = (byte)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
                    o[(h * 128) + l + 96] = (byte)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
                }
            }

            for (int j = 0; j < 16; j++)
            {
                int sc = (sbyte)block[192 + j];
                scales[(b * 16) + j] = d * Math.Abs(sc);
                for (int i = j * Q6KSub; i < (j + 1) * Q6KSub; i++)
                {
                    int v = o[i] - 32;
                    o[i] = (byte)(128 + (sc < 0 ? -v : v));
                }
            }
        }

        return new QuantizedMatrix(n, k, 8, Q6KSub, data, scales, null, source);
    }

    /// <summary>Sub-block <paramref name="j"/>'s 6-bit scale and min from q4_K's 12 packed bytes (llama.cpp's get_scale_min_k4).</summary>
    public static (int Scale, int Min) ScaleMin(int j, ReadOnlySpan<byte> q) => j < 4
        ? (q[j] & 63, q[j + 4] & 63)
        : ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4));

    private static void SetScaleMin(Span<byte> q, int j, int sc, int m)
    {
        if (j < 4)
        {
            q[j] |= (byte)sc;
            q[j + 4] |= (byte)m;
            return;
        }

        q[j + 4] = (byte)((sc & 0xF) | ((m & 0xF) << 4));
        q[j - 4] |= (byte)((sc >> 4) << 6);
        q[j] |= (byte)((m >> 4) << 6);
    }

    private static float Max(ReadOnlySpan<float> values)
    {
        float max = 0;
        foreach (float v in values)
        {
            max = Math.Max(max, v);
        }

        return max;
    }

    private static float Half16(ReadOnlySpan<byte> b) => (float)BinaryPrimitives.ReadHalfLittleEndian(b);
}
