using Harness.Backends;

namespace Harness.Models.Formats;

/// <summary>The two checkpoint naming schemes.</summary>
public enum CheckpointFormat
{
    /// <summary>Hugging Face transformers' names (model.layers.N.self_attn.q_proj.weight; GPT-2's
    /// transformer.h.N.attn.c_attn.weight).</summary>
    HuggingFace,

    /// <summary>llama.cpp's GGUF names (blk.N.attn_q.weight).</summary>
    Gguf,

    /// <summary>The canonical names and shapes themselves: the initializers of the ONNX graph <c>harness export --format onnx</c>
    /// writes (<see cref="OnnxInitializers"/>).</summary>
    Onnx,
}

/// <summary>
/// One tensor of a checkpoint file as a slice of a canonical tensor (<see cref="WeightLayout"/>):
/// columns [<see cref="Offset"/>, + <see cref="Width"/>) of a matrix (elements of a vector),
/// transposed where the file stores [out, in], and for llama.cpp's q/k rows permuted for its rotary
/// convention (<see cref="RopeHeads"/> heads; 0 for none).
/// </summary>
public sealed record FileTensor(string Name, string Canonical, long Offset, long Width, bool Transpose, int RopeHeads = 0);

/// <summary>
/// The map between the canonical weight layout and a checkpoint's tensors, written once and used both
/// ways: the exporter writes each file tensor from the canonical ones, the reader builds each
/// canonical tensor from the file's.
/// </summary>
public static class CheckpointLayout
{
    public static IReadOnlyList<FileTensor> For(DecoderConfig c, CheckpointFormat format, string gpt2Prefix = "transformer.") =>
        format == CheckpointFormat.Onnx
            ? WeightLayout.For(c).Select(w => new FileTensor(w.Name, w.Name, 0, w.Shape[^1], false)).ToList()
            : c.Architecture == DecoderArchitecture.Gpt2 ? Gpt2(c, format, gpt2Prefix) : Llama(c, format);

    private static List<FileTensor> Llama(DecoderConfig c, CheckpointFormat format)
    {
        bool hf = format == CheckpointFormat.HuggingFace;
        long d = c.Hidden, q = (long)c.Heads * c.HeadDim, kv = (long)c.KvHeads * c.HeadDim, inter = c.Intermediate;
        // llama.cpp permutes q and k rows for the llama architecture (interleaved rotary pairs), not for qwen2 (NeoX).
        bool permute = !hf && !c.QkvBias;
        var list = new List<FileTensor>
        {
            new(hf ? "model.embed_tokens.weight" : "token_embd.weight", WeightLayout.TokenEmbedding, 0, d, false),
        };
        for (int i = 0; i < c.Layers; i++)
        {
            string P(string hfName, string ggufName) => hf ? $"model.layers.{i}.{hfName}" : $"blk.{i}.{ggufName}";
            string L(string part) => WeightLayout.Layer(i, part);
            list.Add(new(P("input_layernorm.weight", "attn_norm.weight"), L("norm1.weight"), 0, d, false));
            list.Add(new(P("self_attn.q_proj.weight", "attn_q.weight"), L("attn.qkv.weight"), 0, q, true, permute ? c.Heads : 0));
            list.Add(new(P("self_attn.k_proj.weight", "attn_k.weight"), L("attn.qkv.weight"), q, kv, true, permute ? c.KvHeads : 0));
            list.Add(new(P("self_attn.v_proj.weight", "attn_v.weight"), L("attn.qkv.weight"), q + kv, kv, true));
            if (c.QkvBias)
            {
                list.Add(new(P("self_attn.q_proj.bias", "attn_q.bias"), L("attn.qkv.bias"), 0, q, false));
                list.Add(new(P("self_attn.k_proj.bias", "attn_k.bias"), L("attn.qkv.bias"), q, kv, false));
                list.Add(new(P("self_attn.v_proj.bias", "attn_v.bias"), L("attn.qkv.bias"), q + kv, kv, false));
            }

            list.Add(new(P("self_attn.o_proj.weight", "attn_output.weight"), L("attn.out.weight"), 0, d, true));
            list.Add(new(P("post_attention_layernorm.weight", "ffn_norm.weight"), L("norm2.weight"), 0, d, false));
            list.Add(new(P("mlp.gate_proj.weight", "ffn_gate.weight"), L("mlp.gate_up.weight"), 0, inter, true));
            list.Add(new(P("mlp.up_proj.weight", "ffn_up.weight"), L("mlp.gate_up.weight"), inter, inter, true));
            list.Add(new(P("mlp.down_proj.weight", "ffn_down.weight"), L("mlp.down.weight"), 0, d, true));
        }

        list.Add(new(hf ? "model.norm.weight" : "output_norm.weight", WeightLayout.FinalNormWeight, 0, d, false));
        if (!c.TieEmbeddings)
        {
            list.Add(new(hf ? "lm_head.weight" : "output.weight", WeightLayout.LmHead, 0, c.Vocab, true));
        }

        return list;
    }

    private static List<FileTensor> Gpt2(DecoderConfig c, CheckpointFormat format, string prefix)
    {
        // HF's GPT-2 stores Conv1D weights [in, out] (as the canonical layout); llama.cpp stores them [out, in].
        bool hf = format == CheckpointFormat.HuggingFace, t = !hf;
        long d = c.Hidden, inter = c.Intermediate;
        string Top(string hfName, string ggufName) => hf ? prefix + hfName : ggufName;
        var list = new List<FileTensor>
        {
            new(Top("wte.weight", "token_embd.weight"), WeightLayout.TokenEmbedding, 0, d, false),
            new(Top("wpe.weight", "position_embd.weight"), WeightLayout.PositionEmbedding, 0, d, false),
        };
        for (int i = 0; i < c.Layers; i++)
        {
            string P(string hfName, string ggufName) => hf ? $"{prefix}h.{i}.{hfName}" : $"blk.{i}.{ggufName}";
            string L(string part) => WeightLayout.Layer(i, part);
            list.Add(new(P("ln_1.weight", "attn_norm.weight"), L("norm1.weight"), 0, d, false));
            list.Add(new(P("ln_1.bias", "attn_norm.bias"), L("norm1.bias"), 0, d, false));
            list.Add(new(P("attn.c_attn.weight", "attn_qkv.weight"), L("attn.qkv.weight"), 0, c.QkvWidth, t));
            if (c.QkvBias)
            {
                list.Add(new(P("attn.c_attn.bias", "attn_qkv.bias"), L("attn.qkv.bias"), 0, c.QkvWidth, false));
            }

            list.Add(new(P("attn.c_proj.weight", "attn_output.weight"), L("attn.out.weight"), 0, d, t));
            list.Add(new(P("attn.c_proj.bias", "attn_output.bias"), L("attn.out.bias"), 0, d, false));
            list.Add(new(P("ln_2.weight", "ffn_norm.weight"), L("norm2.weight"), 0, d, false));
            list.Add(new(P("ln_2.bias", "ffn_norm.bias"), L("norm2.bias"), 0, d, false));
            list.Add(new(P("mlp.c_fc.weight", "ffn_up.weight"), L("mlp.up.weight"), 0, inter, t));
            list.Add(new(P("mlp.c_fc.bias", "ffn_up.bias"), L("mlp.up.bias"), 0, inter, false));
            list.Add(new(P("mlp.c_proj.weight", "ffn_down.weight"), L("mlp.down.weight"), 0, d, t));
            list.Add(new(P("mlp.c_proj.bias", "ffn_down.bias"), L("mlp.down.bias"), 0, d, false));
        }

        list.Add(new(Top("ln_f.weight", "output_norm.weight"), WeightLayout.FinalNormWeight, 0, d, false));
        list.Add(new(Top("ln_f.bias", "output_norm.bias"), WeightLayout.FinalNormBias, 0, d, false));
        if (!c.TieEmbeddings)
        {
            list.Add(new(hf ? "lm_head.weight" : "output.weight", WeightLayout.LmHead, 0, c.Vocab, true));
        }

        return list;
    }

    /// <summary>The file tensor's shape: [rows, width] of the canonical matrix, or [width, rows] transposed; [width] for a
    /// vector.</summary>
    public static long[] ShapeOf(FileTensor f, WeightSpec canonical) =>
        canonical.Shape.Length == 1 ? [f.Width] : f.Transpose ? [f.Width, canonical.Shape[0]] : [canonical.Shape[0], f.Width];

    /// <summary>The file tensor's values cut from the whole canonical tensor.</summary>
    public static float[] Extract(FileTensor f, WeightSpec canonical, float[] values)
    {
        if (canonical.Shape.Length == 1)
        {
            return values.AsSpan((int)f.Offset, (int)f.Width).ToArray();
        }

        long rows = canonical.Shape[0], cols = canonical.Shape[1];
        var result = new float[rows * f.Width];
        Copy(values, cols, f.Offset, result, rows, f.Width, f.Transpose, toCanonical: false);

        return f.RopeHeads > 0 ? PermuteRows(result, f.RopeHeads, rows, inverse: false) : result;
    }

    /// <summary>Places the file tensor's values into the whole canonical tensor (the inverse of <see cref="Extract"/>).</summary>
    public static void Place(FileTensor f, WeightSpec canonical, float[] file, float[] values)
    {
        if (canonical.Shape.Length == 1)
        {
            file.AsSpan().CopyTo(values.AsSpan((int)f.Offset, (int)f.Width));
            return;
        }

        long rows = canonical.Shape[0], cols = canonical.Shape[1];
        float[] src = f.RopeHeads > 0 ? PermuteRows(file, f.RopeHeads, rows, inverse: true) : file;
        Copy(values, cols, f.Offset, src, rows, f.Width, f.Transpose, toCanonical: true);
    }

    /// <summary>
    /// Moves columns [offset, offset + width) of the canonical [rows, cols] matrix to or from the file
    /// tensor ([rows, width], or [width, rows] transposed), in 64 x 64 tiles so that both sides stay in cache.
    /// </summary>
    private static void Copy(float[] canonical, long cols, long offset, float[] file, long rows, long w, bool transpose, bool toCanonical)
    {
        if (!transpose)
        {
            for (long r = 0; r < rows; r++)
            {
                var c = canonical.AsSpan((int)(r * cols + offset), (int)w);
                var x = file.AsSpan((int)(r * w), (int)w);
                if (toCanonical)
                {
                    x.CopyTo(c);
                }
                else
                {
                    c.CopyTo(x);
                }
            }

            return;
        }

        const int tile = 64;
        for (long r0 = 0; r0 < rows; r0 += tile)
        {
            for (long j0 = 0; j0 < w; j0 += tile)
            {
                long r1 = Math.Min(rows, r0 + tile), j1 = Math.Min(w, j0 + tile);
                for (long r = r0; r < r1; r++)
                {
                    for (long j = j0; j < j1; j++)
                    {
                        if (toCanonical)
                        {
                            canonical[r * cols + offset + j] = file[j * rows + r];
                        }
                        else
                        {
                            file[j * rows + r] = canonical[r * cols + offset + j];
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// llama.cpp's q/k permutation (convert_hf_to_gguf's permute): within each head, row a*half + b
    /// becomes row 2b + a. The matrix is [heads * head_dim, <paramref name="rowLength"/>].
    /// </summary>
    private static float[] PermuteRows(float[] m, int heads, long rowLength, bool inverse)
    {
        long outRows = m.Length / rowLength, headDim = outRows / heads, half = headDim / 2;
        var result = new float[m.Length];
        for (long h = 0; h < heads; h++)
        {
            for (long a = 0; a < 2; a++)
            {
                for (long b = 0; b < half; b++)
                {
                    long hfRow = h * headDim + a * half + b, ggufRow = h * headDim + 2 * b + a;
                    (long from, long to) = inverse ? (ggufRow, hfRow) : (hfRow, ggufRow);
                    Array.Copy(m, from * rowLength, result, to * rowLength, rowLength);
                }
            }
        }

        return result;
    }
}
