using Harness.Backends;

namespace Harness.Models;

/// <summary>
/// Rotary position tables shared by both backends: cos and sin of pos x theta^(-2j/head_dim) for
/// j in [0, head_dim/2), row-major [positions, head_dim/2], computed in double and rounded to float
/// once. Rotation is the non-interleaved ("rotate half") form of Llama and GQA's rotary_interleaved=0.
/// </summary>
public static class RopeTables
{
    public static (float[] Cos, float[] Sin) Compute(DecoderConfig c, int positions)
    {
        int half = c.HeadDim / 2;
        var cos = new float[(long)positions * half];
        var sin = new float[(long)positions * half];
        for (int p = 0; p < positions; p++)
        {
            for (int j = 0; j < half; j++)
            {
                double invFreq = 1.0 / Math.Pow(c.RopeTheta, 2.0 * j / c.HeadDim);
                double angle = p * invFreq;
                cos[(long)p * half + j] = (float)Math.Cos(angle);
                sin[(long)p * half + j] = (float)Math.Sin(angle);
            }
        }

        return (cos, sin);
    }
}
