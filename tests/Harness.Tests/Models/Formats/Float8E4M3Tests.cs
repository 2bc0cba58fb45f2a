using Harness.Backends;
using Harness.Models.Formats;

namespace Harness.Tests.Models.Formats;

/// <summary>
/// The fp8 E4M3 codec against the format's definition (codes computed by hand), an exhaustive round trip of every
/// code, and rounding checked against a brute-force nearest search over all 254 finite values (ties to the even code),
/// including every midpoint; then fp8 blocks from the quantizer.
/// </summary>
public sealed class Float8E4M3Tests
{
    [Theory]
    [InlineData(0x00, 0f)]
    [InlineData(0x38, 1f)] // exponent 7 (bias 7), mantissa 0
    [InlineData(0x39, 1.125f)]
    [InlineData(0x40, 2f)]
    [InlineData(0x7E, 448f)] // 1.75 x 2^8, the largest finite value
    [InlineData(0x08, 0.015625f)] // 2^-6, the smallest normal
    [InlineData(0x01, 0.001953125f)] // 2^-9, the smallest subnormal
    [InlineData(0x07, 0.013671875f)] // 7 x 2^-9
    [InlineData(0xB8, -1f)]
    [InlineData(0xFE, -448f)]
    public void Codes_have_the_values_of_the_format(int code, float value)
    {
        Assert.Equal(value, Float8E4M3.ToFloat((byte)code));
        Assert.Equal((byte)code, Float8E4M3.FromFloat(value));
    }

    [Fact]
    public void Every_code_round_trips_and_only_the_two_nan_codes_are_nan()
    {
        for (int code = 0; code < 256; code++)
        {
            float v = Float8E4M3.ToFloat((byte)code);
            bool nan = (code & 0x7F) == 0x7F;
            Assert.Equal(nan, float.IsNaN(v));
            Assert.Equal(nan ? (byte)0x7F : (byte)code, Float8E4M3.FromFloat(v));
        }
    }

    [Fact]
    public void Rounding_is_to_the_nearest_value_ties_to_even_and_saturates()
    {
        var finite = Enumerable.Range(0, 0x7F).Select(c => (Code: (byte)c, Value: Float8E4M3.ToFloat((byte)c))).ToArray();
        byte Nearest(float x)
        {
            float a = Math.Min(Math.Abs(x), Float8E4M3.MaxValue);
            (byte best, double distance) = (0, double.MaxValue);
            foreach ((byte c, float v) in finite)
            {
                double d = Math.Abs((double)a - v);
                if (d < distance || (d == distance && c % 2 == 0))
                {
                    (best, distance) = (c, d);
                }
            }

            return (byte)(best | (x < 0 || (x == 0 && float.IsNegative(x)) ? 0x80 : 0));
        }

        var rng = new Random(11);
        var samples = new List<float>();
        for (int i = 0; i < 100_000; i++)
        {
            // Magnitudes from 2^-12 (under the smallest subnormal) to 2^10 (past saturation), both signs.
            float x = (float)Math.Pow(2, -12 + (22 * rng.NextDouble()));
            samples.Add(rng.Next(2) == 0 ? x : -x);
        }

        for (int c = 0; c < 0x7E; c++)
        {
            // Midpoints between neighbours are exact in fp32: each must go to the even code of the two.
            float mid = (finite[c].Value + finite[c + 1].Value) / 2;
            samples.AddRange([mid, -mid, MathF.BitIncrement(mid), MathF.BitDecrement(mid)]);
        }

        samples.AddRange([452f, 463.9f, 464f, 1e6f, float.PositiveInfinity, -1e30f, float.NegativeInfinity]);
        foreach (float x in samples)
        {
            Assert.True(Nearest(x) == Float8E4M3.FromFloat(x), $"{x:R}: expected 0x{Nearest(x):X2}, got 0x{Float8E4M3.FromFloat(x):X2}");
        }

        Assert.Equal(0x3C, Float8E4M3.FromFloat(1.4375f)); // midway between 1.375 (0x3B) and 1.5 (0x3C): the even code
        Assert.Equal(0x7E, Float8E4M3.FromFloat(float.PositiveInfinity));
        Assert.Equal(0x7F, Float8E4M3.FromFloat(float.NaN));
    }

    /// <summary>Each block's scale is max|x| / 448, so its largest weight is +-448 exactly and the rest are within half a step.</summary>
    [Fact]
    public void Fp8_blocks_scale_the_largest_weight_to_448_and_round_every_weight_within_half_a_step()
    {
        const int n = 3, k = 256;
        var rng = new Random(5);
        float[] nk = Enumerable.Range(0, n * k).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.08f).ToArray();
        nk.AsSpan(2 * k, 128).Clear(); // an all-zero block: scale 0, codes 0
        WeightQuantization q = WeightQuantization.Fp8(new Dictionary<string, string>());
        QuantizedMatrix m = BlockQuantizer.Quantize(nk, n, k, q);
        Assert.True(m.Float8);
        Assert.Equal(n * k, m.Data.Length);
        Assert.Equal(n * (k / 128), m.Scales.Length);
        Assert.Equal(0f, m.Scales[4]);
        for (int row = 0; row < n; row++)
        {
            for (int b = 0; b < k / 128; b++)
            {
                ReadOnlySpan<float> x = nk.AsSpan((row * k) + (b * 128), 128);
                float amax = 0;
                foreach (float v in x)
                {
                    amax = Math.Max(amax, Math.Abs(v));
                }

                float scale = m.Scales[(row * 2) + b];
                Assert.Equal(amax / 448f, scale);
                for (int j = 0; j < 128; j++)
                {
                    int col = (b * 128) + j;
                    float w = m.Dequantize(row, col);
                    Assert.Equal(Float8E4M3.ToFloat(m.Data[(row * k) + col]) * scale, w);
                    // 3 mantissa bits: a normal value is within 1/16 of itself; subnormals within half of 2^-9 x scale.
                    float bound = Math.Max(Math.Abs(x[j]) / 16, scale / 1024) * 1.0001f;
                    Assert.True(Math.Abs(w - x[j]) <= bound, $"({row}, {col}): {w} for {x[j]} (bound {bound})");
                    if (Math.Abs(x[j]) == amax && amax > 0)
                    {
                        Assert.Equal(0x7E, m.Data[(row * k) + col] & 0x7F);
                    }
                }
            }
        }
    }
}
