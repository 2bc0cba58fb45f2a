using Harness.Backends;

namespace Harness.Models;

/// <summary>How a generated tensor's values are drawn.</summary>
public enum WeightInit
{
    /// <summary>Normal, std 0.02 (GPT-2 / Llama initializer range).</summary>
    Normal,

    /// <summary>Normal, std 0.02 / sqrt(2 x layers): projections that add into the residual stream.</summary>
    Residual,

    /// <summary>Position table: normal, std 0.01.</summary>
    Position,

    /// <summary>Norm gains: 1 + normal(0.02), not exactly 1 so that a swapped gain shows in parity tests.</summary>
    Gain,

    /// <summary>Biases: normal, std 0.02.</summary>
    Bias,
}

/// <summary>One named weight tensor of the canonical layout. Matrices are stored [in, out] (x @ W).</summary>
public sealed record WeightSpec(string Name, long[] Shape, WeightInit Init)
{
    public long Elements
    {
        get
        {
            long n = 1;
            foreach (long d in Shape)
            {
                n *= d;
            }

            return n;
        }
    }
}

/// <summary>
/// The canonical weight layout of a decoder: names, shapes and order, shared by the ONNX generator
/// and the TorchSharp modules so that both load the same values. Matrix products use [in, out]
/// weights; q|k|v are fused into one matrix (columns: q heads, then k heads, then v heads), and so are
/// Llama's gate|up (columns: gate, then up).
/// </summary>
public static class WeightLayout
{
    public const string TokenEmbedding = "embed";
    public const string PositionEmbedding = "pos_embed";
    public const string FinalNormWeight = "norm_f.weight";
    public const string FinalNormBias = "norm_f.bias";
    public const string LmHead = "lm_head";

    public static string Layer(int i, string part) => $"h{i}.{part}";

    public static IReadOnlyList<WeightSpec> For(DecoderConfig c)
    {
        long d = c.Hidden, inter = c.Intermediate, qkv = c.QkvWidth;
        var list = new List<WeightSpec> { new(TokenEmbedding, [c.Vocab, d], WeightInit.Normal) };
        bool gpt2 = c.Architecture == DecoderArchitecture.Gpt2;
        if (gpt2)
        {
            list.Add(new(PositionEmbedding, [c.MaxPositions, d], WeightInit.Position));
        }

        for (int i = 0; i < c.Layers; i++)
        {
            list.Add(new(Layer(i, "norm1.weight"), [d], WeightInit.Gain));
            if (gpt2)
            {
                list.Add(new(Layer(i, "norm1.bias"), [d], WeightInit.Bias));
            }

            list.Add(new(Layer(i, "attn.qkv.weight"), [d, qkv], WeightInit.Normal));
            if (c.QkvBias)
            {
                list.Add(new(Layer(i, "attn.qkv.bias"), [qkv], WeightInit.Bias));
            }

            list.Add(new(Layer(i, "attn.out.weight"), [c.Heads * (long)c.HeadDim, d], WeightInit.Residual));
            if (gpt2)
            {
                list.Add(new(Layer(i, "attn.out.bias"), [d], WeightInit.Bias));
            }

            list.Add(new(Layer(i, "norm2.weight"), [d], WeightInit.Gain));
            if (gpt2)
            {
                list.Add(new(Layer(i, "norm2.bias"), [d], WeightInit.Bias));
                list.Add(new(Layer(i, "mlp.up.weight"), [d, inter], WeightInit.Normal));
                list.Add(new(Layer(i, "mlp.up.bias"), [inter], WeightInit.Bias));
                list.Add(new(Layer(i, "mlp.down.weight"), [inter, d], WeightInit.Residual));
                list.Add(new(Layer(i, "mlp.down.bias"), [d], WeightInit.Bias));
            }
            else
            {
                list.Add(new(Layer(i, "mlp.gate_up.weight"), [d, 2 * inter], WeightInit.Normal));
                list.Add(new(Layer(i, "mlp.down.weight"), [inter, d], WeightInit.Residual));
            }
        }

        list.Add(new(FinalNormWeight, [d], WeightInit.Gain));
        if (gpt2)
        {
            list.Add(new(FinalNormBias, [d], WeightInit.Bias));
        }

        if (!c.TieEmbeddings)
        {
            list.Add(new(LmHead, [d, c.Vocab], WeightInit.Normal));
        }

        return list;
    }
}
