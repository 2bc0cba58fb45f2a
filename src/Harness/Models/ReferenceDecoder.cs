using Harness.Backends;

namespace Harness.Models;

/// <summary>
/// A plain, slow, obviously-correct forward pass of the decoder (double accumulation, no cache:
/// the whole sequence is recomputed), written from the architecture's definition. It is the
/// executable specification both backends are checked against in tests; use tiny configs only.
/// </summary>
public sealed class ReferenceDecoder
{
    private readonly DecoderConfig _c;
    private readonly Dictionary<string, float[]> _w;
    private readonly float[] _cos;
    private readonly float[] _sin;

    public ReferenceDecoder(DecoderConfig config, int weightSeed)
        : this(config, new WeightGenerator(weightSeed, config.Layers))
    {
    }

    /// <summary>With the weights of <paramref name="gen"/> (e.g. a file's, its quantized blocks dequantized).</summary>
    public ReferenceDecoder(DecoderConfig config, IWeightSource gen)
    {
        _c = config;
        if (new DecoderCost(config).ParameterCount > 50_000_000)
        {
            throw new ArgumentException("The reference decoder is for tiny test configs only.", nameof(config));
        }

        _w = WeightLayout.For(config).ToDictionary(s => s.Name, gen.Generate);
        (_cos, _sin) = config.Architecture == DecoderArchitecture.Llama ? RopeTables.Compute(config, config.MaxPositions) : ([], []);
    }

    /// <summary>Logits of the last position after the whole sequence.</summary>
    public float[] LastLogits(ReadOnlySpan<long> tokens)
    {
        int t = tokens.Length, d = _c.Hidden, hd = _c.HeadDim, heads = _c.Heads, kvh = _c.KvHeads;
        bool gpt2 = _c.Architecture == DecoderArchitecture.Gpt2;
        var x = new double[t][];
        for (int i = 0; i < t; i++)
        {
            x[i] = new double[d];
            for (int j = 0; j < d; j++)
            {
                x[i][j] = _w[WeightLayout.TokenEmbedding][tokens[i] * d + j] + (gpt2 ? _w[WeightLayout.PositionEmbedding][(long)i * d + j] : 0);
            }
        }

        for (int layer = 0; layer < _c.Layers; layer++)
        {
            string L(string part) => WeightLayout.Layer(layer, part);
            var qkv = new double[t][];
            for (int i = 0; i < t; i++)
            {
                double[] a = Norm(x[i], L("norm1"));
                qkv[i] = MatVec(a, L("attn.qkv.weight"), _c.QkvWidth, _c.QkvBias ? L("attn.qkv.bias") : null);
                if (!gpt2)
                {
                    for (int h = 0; h < heads + kvh; h++)
                    {
                        Rotate(qkv[i], h * hd, i); // q heads, then k heads
                    }
                }
            }

            int group = heads / kvh;
            var attnOut = new double[t][];
            for (int i = 0; i < t; i++)
            {
                var attn = new double[heads * hd];
                for (int h = 0; h < heads; h++)
                {
                    int kOff = (heads + h / group) * hd, vOff = (heads + kvh + h / group) * hd;
                    var scores = new double[i + 1];
                    double max = double.NegativeInfinity;
                    for (int s = 0; s <= i; s++)
                    {
                        double dot = 0;
                        for (int j = 0; j < hd; j++)
                        {
                            dot += qkv[i][h * hd + j] * qkv[s][kOff + j];
                        }

                        scores[s] = dot / Math.Sqrt(hd);
                        max = Math.Max(max, scores[s]);
                    }

                    double sum = 0;
                    for (int s = 0; s <= i; s++)
                    {
                        scores[s] = Math.Exp(scores[s] - max);
                        sum += scores[s];
                    }

                    for (int s = 0; s <= i; s++)
                    {
                        for (int j = 0; j < hd; j++)
                        {
                            attn[h * hd + j] += scores[s] / sum * qkv[s][vOff + j];
                        }
                    }
                }

                attnOut[i] = MatVec(attn, L("attn.out.weight"), d, gpt2 ? L("attn.out.bias") : null);
            }

            for (int i = 0; i < t; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    x[i][j] += attnOut[i][j];
                }

                double[] m = Norm(x[i], L("norm2"));
                double[] down;
                if (gpt2)
                {
                    double[] up = MatVec(m, L("mlp.up.weight"), _c.Intermediate, L("mlp.up.bias"));
                    for (int j = 0; j < up.Length; j++)
                    {
                        double u = up[j];
                        up[j] = 0.5 * u * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (u + 0.044715 * u * u * u)));
                    }

                    down = MatVec(up, L("mlp.down.weight"), d, L("mlp.down.bias"));
                }
                else
                {
                    double[] gu = MatVec(m, L("mlp.gate_up.weight"), 2 * _c.Intermediate, null);
                    var act = new double[_c.Intermediate];
                    for (int j = 0; j < act.Length; j++)
                    {
                        double g = gu[j];
                        act[j] = g / (1 + Math.Exp(-g)) * gu[_c.Intermediate + j];
                    }

                    down = MatVec(act, L("mlp.down.weight"), d, null);
                }

                for (int j = 0; j < d; j++)
                {
                    x[i][j] += down[j];
                }
            }
        }

        double[] n = gpt2 ? LayerNorm(x[t - 1], WeightLayout.FinalNormWeight, WeightLayout.FinalNormBias) : RmsNorm(x[t - 1], WeightLayout.FinalNormWeight);
        var logits = new float[_c.Vocab];
        float[] embed = _w[WeightLayout.TokenEmbedding];
        float[]? head = _c.TieEmbeddings ? null : _w[WeightLayout.LmHead];
        for (int v = 0; v < _c.Vocab; v++)
        {
            double acc = 0;
            for (int j = 0; j < d; j++)
            {
                acc += n[j] * (head is null ? embed[(long)v * d + j] : head[(long)j * _c.Vocab + v]);
            }

            logits[v] = (float)acc;
        }

        return logits;
    }

    /// <summary>Greedy generation for one sequence: the prompt, then <paramref name="newTokens"/> argmax tokens.</summary>
    public long[] Generate(ReadOnlySpan<long> prompt, int newTokens)
    {
        var seq = new List<long>(prompt.ToArray());
        var output = new long[newTokens];
        for (int i = 0; i < newTokens; i++)
        {
            float[] logits = LastLogits(seq.ToArray());
            output[i] = ArgMax(logits);
            seq.Add(output[i]);
        }

        return output;
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private double[] Norm(double[] x, string prefix) =>
        _c.Architecture == DecoderArchitecture.Gpt2 ? LayerNorm(x, prefix + ".weight", prefix + ".bias") : RmsNorm(x, prefix + ".weight");

    private double[] LayerNorm(double[] x, string gain, string bias)
    {
        double mean = x.Average();
        double var = x.Select(v => (v - mean) * (v - mean)).Average();
        double inv = 1 / Math.Sqrt(var + _c.NormEps);
        float[] g = _w[gain], b = _w[bias];
        return x.Select((v, j) => (v - mean) * inv * g[j] + b[j]).ToArray();
    }

    private double[] RmsNorm(double[] x, string gain)
    {
        double ms = x.Select(v => v * v).Average();
        double inv = 1 / Math.Sqrt(ms + _c.NormEps);
        float[] g = _w[gain];
        return x.Select((v, j) => v * inv * g[j]).ToArray();
    }

    private double[] MatVec(double[] x, string weight, int outDim, string? bias)
    {
        float[] w = _w[weight];
        var y = new double[outDim];
        for (int i = 0; i < x.Length; i++)
        {
            double xi = x[i];
            long row = (long)i * outDim;
            for (int o = 0; o < outDim; o++)
            {
                y[o] += xi * w[row + o];
            }
        }

        if (bias is not null)
        {
            float[] b = _w[bias];
            for (int o = 0; o < outDim; o++)
            {
                y[o] += b[o];
            }
        }

        return y;
    }

    /// <summary>Rotate-half RoPE of one head (offset..offset+head_dim) at a position, in place.</summary>
    private void Rotate(double[] v, int offset, int position)
    {
        int half = _c.HeadDim / 2;
        for (int j = 0; j < half; j++)
        {
            double cos = _cos[(long)position * half + j], sin = _sin[(long)position * half + j];
            double x1 = v[offset + j], x2 = v[offset + half + j];
            v[offset + j] = x1 * cos - x2 * sin;
            v[offset + half + j] = x2 * cos + x1 * sin;
        }
    }
}
