using System.Buffers.Binary;
using Harness.Models.Formats;

namespace Harness.Tests.Models.Formats;

/// <summary>GGUF's block types dequantized by ggml's layouts, on blocks built by hand.</summary>
public class TensorElementsTests
{
    [Fact]
    public void Q8_0_is_scale_times_signed_bytes()
    {
        var block = new byte[34];
        BinaryPrimitives.WriteHalfLittleEndian(block, (Half)0.5f);
        for (int i = 0; i < 32; i++)
        {
            block[2 + i] = (byte)(sbyte)(i - 16);
        }

        var y = new float[32];
        TensorElement.Q8Zero.ToFloat(block, y);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => 0.5f * (i - 16)), y);
    }

    [Fact]
    public void Q4_0_low_nibbles_are_the_first_half_and_high_nibbles_the_second()
    {
        var block = new byte[18];
        BinaryPrimitives.WriteHalfLittleEndian(block, (Half)2f);
        for (int i = 0; i < 16; i++)
        {
            block[2 + i] = (byte)(i | (15 - i) << 4);
        }

        var y = new float[32];
        TensorElement.Q4Zero.ToFloat(block, y);
        Assert.Equal(2f * (0 - 8), y[0]);
        Assert.Equal(2f * (15 - 8), y[15]);
        Assert.Equal(2f * (15 - 8), y[16]);
        Assert.Equal(2f * (0 - 8), y[31]);
    }

    [Fact]
    public void Q4_K_uses_six_bit_scales_and_mins_per_32_values()
    {
        var block = new byte[144];
        BinaryPrimitives.WriteHalfLittleEndian(block, (Half)1f);
        BinaryPrimitives.WriteHalfLittleEndian(block.AsSpan(2), (Half)1f);
        // Sub-blocks 0-3: scale 1, min 0 (scales[0..3], scales[4..7]); 4-7: scale 1, min 2 (scales[8..11] = min << 4 | scale).
        for (int j = 0; j < 4; j++)
        {
            block[4 + j] = 1;
            block[4 + 8 + j] = 0x21;
        }

        block.AsSpan(16).Fill(0x53); // low nibble 3 (first 32 of each 64), high nibble 5 (next 32)
        var y = new float[256];
        TensorElement.Q4K.ToFloat(block, y);
        Assert.Equal(3f, y[0]);
        Assert.Equal(5f, y[32]);
        Assert.Equal(3f - 2f, y[128]);
        Assert.Equal(5f - 2f, y[255]);
    }

    [Fact]
    public void Q6_K_joins_four_low_and_two_high_bits_minus_32()
    {
        var block = new byte[210];
        block.AsSpan(0, 128).Fill(0x21); // ql: low nibble 1, high nibble 2
        block.AsSpan(128, 64).Fill(0b01_00_00_01); // qh: bits 0-1 = 1, bits 6-7 = 1
        for (int i = 0; i < 16; i++)
        {
            block[192 + i] = (byte)(sbyte)(i % 2 == 0 ? 1 : -1);
        }

        BinaryPrimitives.WriteHalfLittleEndian(block.AsSpan(208), (Half)0.5f);
        var y = new float[256];
        TensorElement.Q6K.ToFloat(block, y);
        Assert.Equal(0.5f * 1 * ((1 | 1 << 4) - 32), y[0]);        // scale 0
        Assert.Equal(0.5f * 1 * (1 - 32), y[32]);                  // scale 2, qh bits 2-3 = 0
        Assert.Equal(0.5f * 1 * (2 - 32), y[64]);                  // scale 4, qh bits 4-5 = 0
        Assert.Equal(0.5f * -1 * ((2 | 1 << 4) - 32), y[16 + 96]); // scale 7
    }

    [Fact]
    public void Bf16_rounds_to_nearest_even_and_reads_back()
    {
        float[] values = [1f, -2.5f, 3.14159f, 1e-20f];
        var bytes = new byte[values.Length * 2];
        TensorElement.BF16.FromFloat(values, bytes);
        var back = new float[values.Length];
        TensorElement.BF16.ToFloat(bytes, back);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal(values[i], back[i], Math.Abs(values[i]) / 128);
        }
    }
}
