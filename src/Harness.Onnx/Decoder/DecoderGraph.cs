using Harness.Backends;
using Harness.Models;
using static Harness.Onnx.Decoder.OnnxAttr;

namespace Harness.Onnx.Decoder;

/// <summary>
/// Names of the generated decoder graph's inputs and outputs: the contract between
/// <see cref="DecoderGraph"/> and the generate workload.
/// </summary>
public static class DecoderIo
{
    /// <summary>int64 [batch, seq]: right-padded when the rows' prompts differ in length.</summary>
    public const string InputIds = "input_ids";

    /// <summary>int64 [batch, seq]; GPT-2 only (learned positions). Llama positions come from seqlens_k.</summary>
    public const string PositionIds = "position_ids";

    /// <summary>int32 [batch]: total length of each sequence after this step, minus 1 (GQA's convention).</summary>
    public const string SeqLensK = "seqlens_k";

    /// <summary>int32 [1]: the longest total length of the batch after this step.</summary>
    public const string TotalSequenceLength = "total_sequence_length";

    /// <summary>int64 [batch]: each row's last valid position in <see cref="InputIds"/> (its prompt length - 1; 0 for decode).</summary>
    public const string LastIndex = "last_index";

    /// <summary>float32 [batch, vocab]: logits of each row's last valid position (<see cref="LastIndex"/>).</summary>
    public const string Logits = "logits";

    /// <summary>int64 [batch]: argmax of <see cref="Logits"/> (greedy), so only B tokens leave the device.</summary>
    public const string NextToken = "next_token";

    public static string PastKey(int layer) => $"past_key_values.{layer}.key";

    public static string PastValue(int layer) => $"past_key_values.{layer}.value";

    public static string PresentKey(int layer) => $"present.{layer}.key";

    public static string PresentValue(int layer) => $"present.{layer}.value";
}

/// <summary>
/// Writes a decoder-only transformer as an ONNX graph from a config and a weight seed.
/// Standard ONNX ops (opset <see cref="GraphBuilder.OnnxOpset"/>: Gather, MatMul, Add,
/// LayerNormalization, Sigmoid, Mul, Split, Unsqueeze, GatherND, Gemm, Cast, ArgMax) plus ONNX Runtime ops
/// where they pay: <c>FastGelu</c> (GPT-2's tanh GELU, com.microsoft), <c>GroupQueryAttention</c>
/// (com.microsoft; CPU and CUDA EPs) for attention with a preallocated KV cache that past and present
/// share (in place, no copy of the cache per step; rotary embedding inside), and
/// <c>SimplifiedLayerNormalization</c> (RMSNorm, registered by ONNX Runtime in the default domain,
/// computed in fp32 also for fp16 graphs).
/// KV cache layout: [batch, kv_heads, cache_len, head_dim] (BNSH), cache_len = the tokens each row
/// of the cache holds. A prefill may be ragged: prompts right-padded to the longest, each row's length
/// in seqlens_k, and the logits taken at each row's own last position (<see cref="DecoderIo.LastIndex"/>).
/// </summary>
public static class DecoderGraph
{
    /// <summary>Bump when the graph changes, so that cached files are regenerated.</summary>
    public const int Version = 3;

    /// <param name="quant">Weight-only quantization of the matrix products (MatMulNBits, or fp8's own op); null for float weights.</param>
    public static byte[] Write(
        DecoderConfig c, TensorDType dtype, IWeightSource gen, string? externalDataPath, WeightQuantization? quant = null)
    {
        using var g = new GraphBuilder(dtype, externalDataPath);
        var q = quant is null ? null : new Quantization.QuantizedMatMul(g, quant, gen);
        bool gpt2 = c.Architecture == DecoderArchitecture.Gpt2;
        OnnxType ft = g.FloatType;
        int d = c.Hidden, hd = c.HeadDim;
        var weights = WeightLayout.For(c).ToDictionary(w => w.Name);
        string W(string name) => g.Weight(weights[name], gen);
        string MatMul(string input, string name) => q is null ? g.Node("MatMul", [input, W(name)]) : q.MatMul(input, weights[name]);

        g.Input(DecoderIo.InputIds, OnnxType.Int64, "batch", "seq");
        if (gpt2)
        {
            g.Input(DecoderIo.PositionIds, OnnxType.Int64, "batch", "seq");
        }

        g.Input(DecoderIo.SeqLensK, OnnxType.Int32, "batch");
        g.Input(DecoderIo.LastIndex, OnnxType.Int64, "batch");
        g.Input(DecoderIo.TotalSequenceLength, OnnxType.Int32, 1);
        for (int i = 0; i < c.Layers; i++)
        {
            g.Input(DecoderIo.PastKey(i), ft, "batch", c.KvHeads, "cache_len", hd);
            g.Input(DecoderIo.PastValue(i), ft, "batch", c.KvHeads, "cache_len", hd);
        }

        string embed = W(WeightLayout.TokenEmbedding);
        string x = g.Node("Gather", [embed, DecoderIo.InputIds], attrs: new Int("axis", 0));
        if (gpt2)
        {
            string pos = g.Node("Gather", [W(WeightLayout.PositionEmbedding), DecoderIo.PositionIds], attrs: new Int("axis", 0));
            x = g.Node("Add", [x, pos]);
        }

        string? cos = null, sin = null;
        if (!gpt2)
        {
            (float[] cosT, float[] sinT) = RopeTables.Compute(c, c.MaxPositions);
            cos = g.Table("rope_cos", cosT, c.MaxPositions, hd / 2);
            sin = g.Table("rope_sin", sinT, c.MaxPositions, hd / 2);
        }

        string Norm(string input, string prefix)
        {
            return gpt2
                ? g.Node("LayerNormalization", [input, W(prefix + ".weight"), W(prefix + ".bias")], attrs: [new Int("axis", -1), new Float("epsilon", (float)c.NormEps)])
                : g.Node("SimplifiedLayerNormalization", [input, W(prefix + ".weight")], attrs: [new Int("axis", -1), new Float("epsilon", (float)c.NormEps), new Int("stash_type", 1)]);
        }

        string Linear(string input, string prefix, bool bias)
        {
            string y = MatMul(input, prefix + ".weight");
            return bias ? g.Node("Add", [y, W(prefix + ".bias")]) : y;
        }

        for (int i = 0; i < c.Layers; i++)
        {
            string L(string part) => WeightLayout.Layer(i, part);
            string a = Norm(x, L("norm1"));
            string qkv = Linear(a, L("attn.qkv"), c.QkvBias);
            var gqaInputs = new List<string> { qkv, "", "", DecoderIo.PastKey(i), DecoderIo.PastValue(i), DecoderIo.SeqLensK, DecoderIo.TotalSequenceLength };
            var gqaAttrs = new List<OnnxAttr> { new Int("num_heads", c.Heads), new Int("kv_num_heads", c.KvHeads) };
            if (!gpt2)
            {
                gqaInputs.Add(cos!);
                gqaInputs.Add(sin!);
                gqaAttrs.Add(new Int("do_rotary", 1));
                gqaAttrs.Add(new Int("rotary_interleaved", 0));
            }

            string attn = g.Nodes("GroupQueryAttention", [.. gqaInputs],
                [g.Fresh("attn"), DecoderIo.PresentKey(i), DecoderIo.PresentValue(i)], "com.microsoft", [.. gqaAttrs])[0];
            string o = Linear(attn, L("attn.out"), gpt2);
            x = g.Node("Add", [x, o]);

            string m = Norm(x, L("norm2"));
            string down;
            if (gpt2)
            {
                // The up projection's bias goes into FastGelu: one kernel less per layer.
                string up = Linear(m, L("mlp.up"), false);
                string act = g.Node("FastGelu", [up, W(L("mlp.up.bias"))], domain: "com.microsoft");
                down = Linear(act, L("mlp.down"), true);
            }
            else
            {
                string gu = MatMul(m, L("mlp.gate_up.weight"));
                string split = g.ConstI64([c.Intermediate, c.Intermediate], 2);
                string[] parts = g.Nodes("Split", [gu, split], [g.Fresh("gate"), g.Fresh("up")], attrs: new Int("axis", -1));
                string silu = g.Node("Mul", [parts[0], g.Node("Sigmoid", [parts[0]])]);
                string act = g.Node("Mul", [silu, parts[1]]);
                down = MatMul(act, L("mlp.down.weight"));
            }

            x = g.Node("Add", [x, down]);
        }

        // Logits only for each row's last valid position: the only one a token is sampled from
        // (x [batch, seq, hidden] gathered at last_index [batch, 1] per row gives [batch, hidden]).
        string lastIndex = g.Node("Unsqueeze", [DecoderIo.LastIndex, g.ConstI64([1], 1)]);
        string flat = g.Node("GatherND", [x, lastIndex], attrs: new Int("batch_dims", 1));
        string normed = gpt2
            ? g.Node("LayerNormalization", [flat, W(WeightLayout.FinalNormWeight), W(WeightLayout.FinalNormBias)], attrs: [new Int("axis", -1), new Float("epsilon", (float)c.NormEps)])
            : g.Node("SimplifiedLayerNormalization", [flat, W(WeightLayout.FinalNormWeight)], attrs: [new Int("axis", -1), new Float("epsilon", (float)c.NormEps), new Int("stash_type", 1)]);
        string logits = c.TieEmbeddings
            ? q?.TiedLmHead(normed, weights[WeightLayout.TokenEmbedding]) ?? g.Node("Gemm", [normed, embed], attrs: new Int("transB", 1))
            : MatMul(normed, WeightLayout.LmHead);
        if (dtype == TensorDType.Float32)
        {
            g.Node("Identity", [logits], DecoderIo.Logits);
        }
        else
        {
            g.Node("Cast", [logits], DecoderIo.Logits, attrs: new Int("to", (int)OnnxType.Float));
        }

        g.Node("ArgMax", [DecoderIo.Logits], DecoderIo.NextToken, attrs: [new Int("axis", 1), new Int("keepdims", 0)]);

        g.Output(DecoderIo.Logits, OnnxType.Float, "batch", c.Vocab);
        g.Output(DecoderIo.NextToken, OnnxType.Int64, "batch");
        for (int i = 0; i < c.Layers; i++)
        {
            g.Output(DecoderIo.PresentKey(i), ft, "batch", c.KvHeads, "cache_len", hd);
            g.Output(DecoderIo.PresentValue(i), ft, "batch", c.KvHeads, "cache_len", hd);
        }

        string weightsText = q is null ? "" : $" ({quant!.Describe()}, {quant.Operator}: {string.Join("; ", q.Sources)})";
        return g.Build(c.Name, $"{c.Name} ({c.Architecture}), {dtype.ShortName()}, weights from {gen.Description}{weightsText}; generated by harness (DecoderGraph v{Version}). Shape source: {c.Source}");
    }
}
