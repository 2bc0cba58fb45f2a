using System.Buffers.Binary;

namespace Harness.Models.Formats;

/// <summary>Element types of tensors in checkpoint files: plain floats, and GGUF's block-quantized types.</summary>
public enum TensorElement
{
    F32,
    F16,
    BF16,
    Q8Zero,
    Q4Zero,
    Q4K,
    Q6K,
}

/// <summary>Sizes of the element types, and their conversion to fp32 (dequantization for the block types).</summary>
public static class TensorElements
{
    /// <summary>The type as GGUF and llama.cpp write it: f32, f16, bf16, q8_0, q4_0, q4_K, q6_K.</summary>
    public static string Name(this TensorElement e) => e switch
    {
        TensorElement.Q8Zero => "q8_0",
        TensorElement.Q4Zero => "q4_0",
        TensorElement.Q4K => "q4_K",
        TensorElement.Q6K => "q6_K",
        _ => e.ToString().ToLowerInvariant(),
    };

    public static bool IsQuantized(this TensorElement e) =>
        e is TensorElement.Q8Zero or TensorElement.Q4Zero or TensorElement.Q4K or TensorElement.Q6K;

    /// <summary>Elements per block (1 for plain floats).</summary>
    public static int BlockElements(this TensorElement e) => e switch
    {
        TensorElement.Q8Zero or TensorElement.Q4Zero => 32,
        TensorElement.Q4K or TensorElement.Q6K => 256,
        _ => 1,
    };

    /// <summary>Bytes per block.</summary>
    public static int BlockBytes(this TensorElement e) => e switch
    {
        TensorElement.F32 => 4,
        TensorElement.F16 or TensorElement.BF16 => 2,
        TensorElement.Q8Zero => 34,
        TensorElement.Q4Zero => 18,
        TensorElement.Q4K => 144,
        TensorElement.Q6K => 210,
        _ => throw new ArgumentOutOfRangeException(nameof(e), e, null),
    };

    /// <summary>Bytes of <paramref name="elements"/> elements; -1 when they are not whole blocks.</summary>
    public static long ByteCount(this TensorElement e, long elements) =>
        elements % e.BlockElements() == 0 ? elements / e.BlockElements() * e.BlockBytes() : -1;

    /// <summary>Converts whole blocks of <paramref name="src"/> into fp32 values.</summary>
    public static void ToFloat(this TensorElement e, ReadOnlySpan<byte> src, Span<float> dest)
    {
        switch (e)
        {
            case TensorElement.F32 when BitConverter.IsLittleEndian:
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(src[..(dest.Length * 4)]).CopyTo(dest);
                break;
            case TensorElement.F32:
                for (int i = 0; i < dest.Length; i++)
                {
                    dest[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(i * 4)..]);
                }

                break;
            case TensorElement.F16:
                for (int i = 0; i < dest.Length; i++)
                {
                    dest[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(src[(i * 2)..]);
                }

                break;
            case TensorElement.BF16:
                for (int i = 0; i < dest.Length; i++)
                {
                    dest[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(i * 2)..]) << 16);
                }

                break;
            default:
                int n = e.BlockElements(), size = e.BlockBytes();
                for (int b = 0; b < dest.Length / n; b++)
                {
                    ReadOnlySpan<byte> block = src.Slice(b * size, size);
                    Span<float> y = dest.Slice(b * n, n);
                    switch (e)
                    {
                        case TensorElement.Q8Zero:
                            DequantizeQ8Zero(block, y);
                            break;
                        case TensorElement.Q4Zero:
                            DequantizeQ4Zero(block, y);
                            break;
                        case TensorElement.Q4K:
                            DequantizeQ4K(block, y);
                            break;
                        default:
                            DequantizeQ6K(block, y);
                            break;
                    }
                }

                break;
        }
    }

    /// <summary>
    /// fp32 values into bytes: F32, F16, BF16 (round to nearest even), or whole Q8_0 or Q4_0 blocks (ggml's rounding), Q4_K or
    /// Q6_K blocks (<see cref="KQuants"/>).
    /// </summary>
    public static void FromFloat(this TensorElement e, ReadOnlySpan<float> src, Span<byte> dest)
    {
        if (e.IsQuantized())
        {
            int size = e.BlockBytes(), n = e.BlockElements();
            for (int b = 0; b < src.Length / n; b++)
            {
                ReadOnlySpan<float> x = src.Slice(b * n, n);
                Span<byte> block = dest.Slice(b * size, size);
                switch (e)
                {
                    case TensorElement.Q4K:
                        KQuants.EncodeQ4K(x, block);
                        break;
                    case TensorElement.Q6K:
                        KQuants.EncodeQ6K(x, block);
                        break;
                    default:
                        BlockQuantizer.EncodeGgufBlock(e, x, block);
                        break;
                }
            }

            return;
        }

        for (int i = 0; i < src.Length; i++)
        {
            switch (e)
            {
                case TensorElement.F32:
                    BinaryPrimitives.WriteSingleLittleEndian(dest[(i * 4)..], src[i]);
                    break;
                case TensorElement.F16:
                    BinaryPrimitives.WriteHalfLittleEndian(dest[(i * 2)..], (Half)src[i]);
                    break;
                case TensorElement.BF16:
                    uint bits = BitConverter.SingleToUInt32Bits(src[i]);
                    bits += 0x7FFF + ((bits >> 16) & 1);
                    BinaryPrimitives.WriteUInt16LittleEndian(dest[(i * 2)..], (ushort)(bits >> 16));
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(e), e, "only plain float types are written");
            }
        }
    }

    private static float Half16(ReadOnlySpan<byte> b) => (float)BinaryPrimitives.ReadHalfLittleEndian(b);

    // ggml's block layouts: block_q8_0 {half d; int8 qs[32]}, block_q4_0 {half d; uint8 qs[16]}.
    private static void DequantizeQ8Zero(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = Half16(block);
        for (int i = 0; i < 32; i++)
        {
            y[i] = d * (sbyte)block[2 + i];
        }
    }

    private static void DequantizeQ4Zero(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = Half16(block);
        for (int i = 0; i < 16; i++)
        {
            byte q = block[2 + i];
            y[i] = d * ((q & 0xF) - 8);
            y[i + 16] = d * ((q >> 4) - 8);
        }
    }

    // block_q4_K {half d; half dmin; uint8 scales[12]; uint8 qs[128]}: 8 sub-blocks of 32 with 6-bit scales and mins.
    private static void DequantizeQ4K(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = Half16(block), min = Half16(block[2..]);
        ReadOnlySpan<byte> scales = block.Slice(4, 12), qs = block.Slice(16, 128);
        int o = 0, q = 0;
        for (int j = 0, s = 0; j < 256; j += 64, s += 2, q += 32)
        {
            (int sc1, int m1) = KQuants.ScaleMin(s, scales);
            (int sc2, int m2) = KQuants.ScaleMin(s + 1, scales);
            float d1 = d * sc1, dm1 = min * m1, d2 = d * sc2, dm2 = min * m2;
            for (int l = 0; l < 32; l++)
            {
                y[o++] = d1 * (qs[q + l] & 0xF) - dm1;
            }

            for (int l = 0; l < 32; l++)
            {
                y[o++] = d2 * (qs[q + l] >> 4) - dm2;
            }
        }
    }

    // block_q6_K {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d}.
    private static void DequantizeQ6K(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = Half16(block[208..]);
        for (int n = 0; n < 2; n++)
        {
            ReadOnlySpan<byte> ql = block.Slice(n * 64, 64), qh = block.Slice(128 + n * 32, 32);
            ReadOnlySpan<byte> sc = block.Slice(192 + n * 8, 8);
            Span<float> o = y.Slice(n * 128, 128);
            for (int l = 0; l < 32; l++)
            {
                int s = l / 16;
                int q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                o[l] = d * (sbyte)sc[s] * q1;
                o[l + 32] = d * (sbyte)sc[s + 2] * q2;
                o[l + 64] = d * (sbyte)sc[s + 4] * q3;
                o[l + 96] = d * (sbyte)sc[s + 6] * q4;
            }
        }
    }
}
