namespace Harness.Models.Formats;

/// <summary>
/// The fp8 E4M3 element (ONNX's FLOAT8E4M3FN, the OCP "FN" variant that Hopper's tensor cores and
/// ONNX Runtime's fp8 kernels read): a sign, 4 exponent bits (bias 7), 3 mantissa bits; no infinities,
/// one NaN pattern per sign (S.1111.111), largest finite value 448, smallest subnormal 2^-9. Encoding
/// rounds to nearest, ties to even, and saturates to +-448 (ONNX's saturate=1), as a weight quantizer wants.
/// </summary>
public static class Float8E4M3
{
    /// <summary>The largest finite value, 1.75 x 2^8.</summary>
    public const float MaxValue = 448f;

    /// <summary>The code of the largest finite value (0x7E; 0x7F is NaN).</summary>
    private const byte MaxCode = 0x7E;

    private static readonly float[] Values = BuildValues();

    /// <summary>The value of one code.</summary>
    public static float ToFloat(byte code) => Values[code];

    /// <summary>The nearest code to <paramref name="x"/> (ties to the even code), saturated to +-448; NaN stays NaN.</summary>
    public static byte FromFloat(float x)
    {
        if (float.IsNaN(x))
        {
            return 0x7F;
        }

        uint bits = BitConverter.SingleToUInt32Bits(x);
        byte sign = (byte)((bits >> 24) & 0x80);
        float a = MathF.Abs(x);
        byte magnitude;
        if (a >= MaxValue)
        {
            magnitude = MaxCode;
        }
        else if (a < 0.015625f)
        {
            // Below the smallest normal (2^-6): subnormals are whole multiples of 2^-9; 8 of them is the smallest normal's code.
            magnitude = (byte)MathF.Round(a * 512f, MidpointRounding.ToEven);
        }
        else
        {
            // Normal: rebias the exponent (127 -> 7) and keep 3 of fp32's 23 mantissa bits, rounding the 20 dropped bits to
            // nearest even on the joined exponent-and-mantissa integer, so that a carry moves into the exponent.
            uint joined = (((bits >> 23) & 0xFF) - 120) << 23 | (bits & 0x7FFFFF);
            uint rounded = (joined + 0x7FFFF + ((joined >> 20) & 1)) >> 20;
            magnitude = (byte)Math.Min(rounded, MaxCode);
        }

        return (byte)(sign | magnitude);
    }

    private static float[] BuildValues()
    {
        var values = new float[256];
        for (int code = 0; code < 256; code++)
        {
            int exponent = (code >> 3) & 0xF, mantissa = code & 7;
            float magnitude = (code & 0x7F) == 0x7F
                ? float.NaN
                : exponent == 0
                    ? mantissa / 512f
                    : (1 + (mantissa / 8f)) * MathF.ScaleB(1f, exponent - 7);
            values[code] = (code & 0x80) != 0 ? -magnitude : magnitude;
        }

        return values;
    }
}
