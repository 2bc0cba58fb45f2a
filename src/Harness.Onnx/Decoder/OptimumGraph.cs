using Harness.Backends;
using Harness.Models;
using Harness.Models.Formats;
using static Harness.Onnx.Decoder.OnnxAttr;

namespace Harness.Onnx.Decoder;

/// <summary>
/// Names of an Optimum-layout decoder graph ("with past"): the inputs and outputs other engines'
/// exports have and <see cref="ConcatDecoder"/> looks for.
/// </summary>
public static class OptimumIo
{
    /// <summary>int64 [batch, total]: 1 for a token of the row (past and new), 0 for padding.</summary>
    public const string AttentionMask = "attention_mask";

    /// <summary>float [batch, sequence, vocab]: the logits of every new position.</summary>
    public const string Logits = DecoderIo.Logits;

    /// <summary>Inputs of onnxruntime-genai's GroupQueryAttention graphs that a concatenating cache cannot drive.</summary>
    public static readonly string[] GroupQueryAttentionInputs = [DecoderIo.SeqLensK, DecoderIo.TotalSequenceLength];
}

/// <summary>
/// Writes a decoder as an Optimum-layout ONNX graph with past (what <c>optimum-cli export onnx
/// --task text-generation-with-past</c> gives): inputs input_ids, attention_mask, position_ids and
/// past_key_values.N.key/value [batch, kv_heads, past, head_dim]; outputs logits [batch, sequence,
/// vocab] (float32) and present.N.key/value, the past with the new keys and values concatenated.
/// Standard ONNX ops only (opset <see cref="GraphBuilder.OnnxOpset"/>), so that any runtime runs it:
/// RMSNorm, rotary embedding (rotate half, positions from position_ids), grouped-query attention
/// (q reshaped to [batch, kv_heads, group, sequence, head_dim] against the shared k/v) with a causal
/// and padding mask, SwiGLU, and GPT-2's LayerNormalization and tanh GELU. The weights are the canonical
/// layout's (<see cref="WeightLayout"/>), always in the external data file (<see cref="ModelFiles.OnnxDataFile"/>):
/// one layout for every size, never the protobuf's 2 GB limit, and ONNX Runtime maps it.
/// </summary>
public static class OptimumGraph
{
    /// <summary>onnx.TensorProto.DataType BOOL.</summary>
    private const long BoolType = 9;

    /// <summary>
    /// Writes <c>harness export --format onnx</c>'s folder (the graph, its data and the Hugging Face folder's files), or with
    /// <paramref name="format"/> genai also onnxruntime-genai's genai_config.json.
    /// </summary>
    public static void Export(
        DecoderConfig c, TensorDType dtype, string output, IWeightSource weights, ExportFormat format = ExportFormat.Onnx) =>
        ModelExport.Write(c, dtype, format, output, weights, onnxGraph: GraphWriter(c, dtype, weights));

    /// <summary>Writes model.onnx and model.onnx_data into the folder it is given (<see cref="ModelExport.Write"/>'s onnxGraph).</summary>
    public static Action<string> GraphWriter(DecoderConfig c, TensorDType dtype, IWeightSource weights) => folder =>
    {
        byte[] proto = Write(c, dtype, weights, Path.Combine(folder, ModelFiles.OnnxDataFile));
        File.WriteAllBytes(Path.Combine(folder, ModelFiles.OnnxGraphFile), proto);
    };

    /// <summary>The graph's ModelProto bytes; the weights go to <paramref name="externalDataPath"/>.</summary>
    public static byte[] Write(DecoderConfig c, TensorDType dtype, IWeightSource gen, string externalDataPath)
    {
        if (dtype is not (TensorDType.Float32 or TensorDType.Float16))
        {
            throw HarnessException.BadInput($"--dtype {dtype.ShortName()} is not written to onnx; use fp32 or fp16.");
        }

        using var g = new GraphBuilder(dtype, externalDataPath);
        bool gpt2 = c.Architecture == DecoderArchitecture.Gpt2;
        OnnxType ft = g.FloatType;
        int heads = c.Heads, kvHeads = c.KvHeads, hd = c.HeadDim, group = c.Heads / c.KvHeads;
        var weights = WeightLayout.For(c).ToDictionary(w => w.Name);
        var written = new Dictionary<string, string>(StringComparer.Ordinal);
        string W(string name) => written.TryGetValue(name, out string? known) ? known : written[name] = g.Weight(weights[name], gen);
        string Scalar(float v) => g.ConstF(g.Fresh("scalar"), [v]);
        string Float32(float v) => g.Node("Constant", [], attrs: new Tensor("value",
            new OnnxTensor(g.Fresh("f32"), OnnxType.Float, [], BitConverter.GetBytes(v))));

        g.Input(DecoderIo.InputIds, OnnxType.Int64, "batch_size", "sequence");
        g.Input(OptimumIo.AttentionMask, OnnxType.Int64, "batch_size", "total");
        g.Input(DecoderIo.PositionIds, OnnxType.Int64, "batch_size", "sequence");
        for (int i = 0; i < c.Layers; i++)
        {
            g.Input(DecoderIo.PastKey(i), ft, "batch_size", kvHeads, "past", hd);
            g.Input(DecoderIo.PastValue(i), ft, "batch_size", kvHeads, "past", hd);
        }

        // Query i (timeline index past + i) sees key j when j <= past + i and the mask has j: a bias of
        // [batch, 1, 1, sequence, total], 0 or a large finite negative (finite: a row of padding gives no NaN).
        string axis0 = g.ConstI64([0], 1);
        string Length(string input) =>
            g.Node("Squeeze", [g.Node("Shape", [input], attrs: [new Int("start", 1), new Int("end", 2)]), axis0]);
        string total = Length(OptimumIo.AttentionMask), sequence = Length(DecoderIo.InputIds);
        string one = g.ConstI64([1]);
        string keys = g.Node("Range", [g.ConstI64([0]), total, one]);
        string queries = g.Node("Unsqueeze", [g.Node("Range", [g.Node("Sub", [total, sequence]), total, one]), g.ConstI64([1], 1)]);
        string causal = g.Node("LessOrEqual", [keys, queries]);
        string present = g.Node("Cast", [OptimumIo.AttentionMask], attrs: new Int("to", BoolType));
        string padding = g.Node("Unsqueeze", [present, g.ConstI64([1, 2, 3], 3)]);
        string allowed = g.Node("And", [causal, padding]);
        string bias = g.Node("Where", [allowed, Scalar(0), Scalar(dtype == TensorDType.Float32 ? -1e9f : -6e4f)]);

        string x = g.Node("Gather", [W(WeightLayout.TokenEmbedding), DecoderIo.InputIds], attrs: new Int("axis", 0));
        if (gpt2)
        {
            string pos = g.Node("Gather", [W(WeightLayout.PositionEmbedding), DecoderIo.PositionIds], attrs: new Int("axis", 0));
            x = g.Node("Add", [x, pos]);
        }

        string? cos = null, sin = null;
        if (!gpt2)
        {
            (float[] cosT, float[] sinT) = RopeTables.Compute(c, c.MaxPositions);
            string Rows(string table)
            {
                string half = g.Node("Gather", [table, DecoderIo.PositionIds], attrs: new Int("axis", 0));
                return g.Node("Unsqueeze", [g.Node("Concat", [half, half], attrs: new Int("axis", -1)), g.ConstI64([1], 1)]);
            }

            cos = Rows(g.Table("rope_cos", cosT, c.MaxPositions, hd / 2));
            sin = Rows(g.Table("rope_sin", sinT, c.MaxPositions, hd / 2));
        }

        string Rotate(string t)
        {
            string[] halves =
                g.Nodes("Split", [t, g.ConstI64([hd / 2, hd / 2], 2)], [g.Fresh("lo"), g.Fresh("hi")], attrs: new Int("axis", -1));
            string rotated = g.Node("Concat", [g.Node("Neg", [halves[1]]), halves[0]], attrs: new Int("axis", -1));
            return g.Node("Add", [g.Node("Mul", [t, cos!]), g.Node("Mul", [rotated, sin!])]);
        }

        string Norm(string input, string prefix)
        {
            if (gpt2)
            {
                return g.Node("LayerNormalization", [input, W(prefix + ".weight"), W(prefix + ".bias")],
                    attrs: [new Int("axis", -1), new Float("epsilon", (float)c.NormEps)]);
            }

            // RMSNorm in float32 (as SimplifiedLayerNormalization's stash_type 1), the gain in the graph's type.
            string xf = dtype == TensorDType.Float32 ? input : g.Node("Cast", [input], attrs: new Int("to", (int)OnnxType.Float));
            string meanSquare = g.Node("ReduceMean", [g.Node("Mul", [xf, xf])], attrs: [new Ints("axes", [-1]), new Int("keepdims", 1)]);
            string eps = Float32((float)c.NormEps);
            string normed = g.Node("Div", [xf, g.Node("Sqrt", [g.Node("Add", [meanSquare, eps])])]);
            if (dtype != TensorDType.Float32)
            {
                normed = g.Node("Cast", [normed], attrs: new Int("to", (int)ft));
            }

            return g.Node("Mul", [normed, W(prefix + ".weight")]);
        }

        string Linear(string input, string prefix, bool hasBias)
        {
            string y = g.Node("MatMul", [input, W(prefix + ".weight")]);
            return hasBias ? g.Node("Add", [y, W(prefix + ".bias")]) : y;
        }

        string Heads(string t, int count) =>
            g.Node("Transpose", [g.Node("Reshape", [t, g.ConstI64([0, 0, count, hd], 4)])], attrs: new Ints("perm", [0, 2, 1, 3]));

        string scale = Scalar((float)(1.0 / Math.Sqrt(hd)));
        for (int i = 0; i < c.Layers; i++)
        {
            string L(string part) => WeightLayout.Layer(i, part);
            string qkv = Linear(Norm(x, L("norm1")), L("attn.qkv"), c.QkvBias);
            string[] parts = g.Nodes("Split", [qkv, g.ConstI64([heads * hd, kvHeads * hd, kvHeads * hd], 3)],
                [g.Fresh("query"), g.Fresh("key"), g.Fresh("value")], attrs: new Int("axis", -1));
            string q = Heads(parts[0], heads), k = Heads(parts[1], kvHeads), v = Heads(parts[2], kvHeads);
            if (!gpt2)
            {
                q = Rotate(q);
                k = Rotate(k);
            }

            string presentK = g.Node("Concat", [DecoderIo.PastKey(i), k], DecoderIo.PresentKey(i), attrs: new Int("axis", 2));
            string presentV = g.Node("Concat", [DecoderIo.PastValue(i), v], DecoderIo.PresentValue(i), attrs: new Int("axis", 2));
            // [batch, kv_heads, group, sequence, head_dim] against [batch, kv_heads, 1, total, head_dim]: no copy of k/v per group.
            string q5 = g.Node("Reshape", [g.Node("Mul", [q, scale]), g.ConstI64([0, kvHeads, group, -1, hd], 5)]);
            string k5 = g.Node("Transpose", [g.Node("Unsqueeze", [presentK, g.ConstI64([2], 1)])],
                attrs: new Ints("perm", [0, 1, 2, 4, 3]));
            string v5 = g.Node("Unsqueeze", [presentV, g.ConstI64([2], 1)]);
            string scores = g.Node("Add", [g.Node("MatMul", [q5, k5]), bias]);
            string context = g.Node("MatMul", [g.Node("Softmax", [scores], attrs: new Int("axis", -1)), v5]);
            string merged = g.Node("Reshape", [context, g.ConstI64([0, heads, -1, hd], 4)]);
            string byToken = g.Node("Transpose", [merged], attrs: new Ints("perm", [0, 2, 1, 3]));
            string flat = g.Node("Reshape", [byToken, g.ConstI64([0, 0, heads * hd], 3)]);
            x = g.Node("Add", [x, Linear(flat, L("attn.out"), gpt2)]);

            string m = Norm(x, L("norm2"));
            string down;
            if (gpt2)
            {
                // GPT-2's tanh GELU: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
                string up = Linear(m, L("mlp.up"), true);
                string cube = g.Node("Mul", [g.Node("Mul", [up, up]), up]);
                string inner = g.Node("Mul", [g.Node("Add", [up, g.Node("Mul", [cube, Scalar(0.044715f)])]), Scalar(0.7978845608f)]);
                string act = g.Node("Mul", [g.Node("Mul", [up, Scalar(0.5f)]), g.Node("Add", [g.Node("Tanh", [inner]), Scalar(1)])]);
                down = Linear(act, L("mlp.down"), true);
            }
            else
            {
                string gu = g.Node("MatMul", [m, W(L("mlp.gate_up.weight"))]);
                string[] gate = g.Nodes("Split", [gu, g.ConstI64([c.Intermediate, c.Intermediate], 2)], [g.Fresh("gate"), g.Fresh("up")],
                    attrs: new Int("axis", -1));
                string silu = g.Node("Mul", [gate[0], g.Node("Sigmoid", [gate[0]])]);
                down = g.Node("MatMul", [g.Node("Mul", [silu, gate[1]]), W(L("mlp.down.weight"))]);
            }

            x = g.Node("Add", [x, down]);
        }

        string final = gpt2
            ? g.Node("LayerNormalization", [x, W(WeightLayout.FinalNormWeight), W(WeightLayout.FinalNormBias)],
                attrs: [new Int("axis", -1), new Float("epsilon", (float)c.NormEps)])
            : Norm(x, "norm_f");
        string logits;
        if (c.TieEmbeddings)
        {
            // [batch x sequence, hidden] x embed^T by Gemm (no transposed copy of the embedding), back to [batch, sequence, vocab].
            string rows = g.Node("Gemm", [g.Node("Reshape", [final, g.ConstI64([-1, c.Hidden], 2)]), W(WeightLayout.TokenEmbedding)],
                attrs: new Int("transB", 1));
            string shape = g.Node("Concat", [g.Node("Shape", [DecoderIo.InputIds]), g.ConstI64([c.Vocab], 1)], attrs: new Int("axis", 0));
            logits = g.Node("Reshape", [rows, shape]);
        }
        else
        {
            logits = g.Node("MatMul", [final, W(WeightLayout.LmHead)]);
        }

        g.Node(dtype == TensorDType.Float32 ? "Identity" : "Cast", [logits], OptimumIo.Logits,
            attrs: dtype == TensorDType.Float32 ? [] : [new Int("to", (int)OnnxType.Float)]);
        g.Output(OptimumIo.Logits, OnnxType.Float, "batch_size", "sequence", c.Vocab);
        for (int i = 0; i < c.Layers; i++)
        {
            g.Output(DecoderIo.PresentKey(i), ft, "batch_size", kvHeads, "total", hd);
            g.Output(DecoderIo.PresentValue(i), ft, "batch_size", kvHeads, "total", hd);
        }

        return g.Build(c.Name, $"{c.Name} ({c.Architecture}), {dtype.ShortName()}, weights from {gen.Description}; an Optimum-layout "
            + $"decoder with past written by harness export. Shape source: {c.Source}");
    }
}
