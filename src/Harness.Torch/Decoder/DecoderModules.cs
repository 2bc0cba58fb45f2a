using Harness.Backends;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Torch.Decoder;

/// <summary>
/// The decoder as TorchSharp modules. Module and parameter names are the canonical names of
/// <c>Models.WeightLayout</c> ("h3.attn.qkv.weight"), so the weights of both backends come from the
/// same generator by name. Matrices are [in, out] and applied as x.mm(W).
/// </summary>
/// <remarks>
/// A decode step is bound by host dispatch, not arithmetic: every TorchSharp call (views included)
/// crosses P/Invoke, creates a managed tensor and goes through libtorch's dispatcher, about 7-10 µs
/// each on CUDA. So the forward pass is written for few calls: the residual stream is one 2-D tensor
/// [batch * seq, hidden] updated in place, biases and residual adds ride on addmm, views are taken
/// with one as_strided instead of narrow/view/permute chains, and nothing reads tensor shapes or dtypes
/// back from libtorch (those are calls too). Calls per layer and decode step: GPT-2 20, Llama 30 in
/// fp32 and 34 in bf16 (were 37, 55 and 63; see <see cref="Block"/>).
/// </remarks>
public abstract class DecoderModule : nn.Module
{
    protected DecoderModule(string name)
        : base(name)
    {
    }

    /// <summary>
    /// 1 as a libtorch scalar, made once: TorchSharp turns a literal (add_(t) is add_(t, 1)) into a
    /// native Scalar on every call, one more P/Invoke plus a finalizer. Process lifetime, never disposed.
    /// </summary>
    protected static readonly Scalar One = 1.ToScalar();

    /// <summary>An uninitialized fp32 CPU parameter; <see cref="TorchDecoderModel.LoadWeights"/> fills it.</summary>
    protected static Parameter Empty(params long[] shape) => new(empty(shape, ScalarType.Float32), requires_grad: false);

    protected Tensor P(string name) => get_parameter(name) ?? throw new InvalidOperationException($"{GetName()} has no parameter {name}.");
}

/// <summary>What one forward pass shares with every layer: its shape, position, rotary slices and mask.</summary>
/// <param name="Batch">Sequences.</param>
/// <param name="Seq">Tokens per sequence in this pass (1 in decode).</param>
/// <param name="Position">Cache position of the first token.</param>
/// <param name="MaxContext">Positions the KV cache holds.</param>
/// <param name="Cos">RoPE cos of this pass's positions, [seq, 1, head_dim] (Llama), else null.</param>
/// <param name="SignedSin">RoPE sin with the first half negated, [seq, 1, head_dim] (Llama), else null.</param>
/// <param name="Mask">Additive causal mask [groups * seq, position + seq] (0 or -inf) when seq > 1; with a position per row, the length mask [batch * kv_heads, 1, position + 1]; else null.</param>
/// <param name="FirstRow">The cache row (slot) of the first sequence: the pass uses rows [FirstRow, FirstRow + Batch).</param>
/// <param name="CacheRows">Rows the KV cache has (slots).</param>
/// <param name="KvIndex">With a position per row (a decode step of sequences of different lengths): each row's position as a scatter index [2, batch, kv_heads, 1, head_dim] (Position is then the longest's); null when every row is at Position.</param>
public sealed record DecoderPass(long Batch, long Seq, int Position, long MaxContext, Tensor? Cos, Tensor? SignedSin, Tensor? Mask, long FirstRow = 0, long CacheRows = -1, Tensor? KvIndex = null)
{
    public long Rows => Batch * Seq;

    public long Total => Position + Seq;
}

/// <summary>x.mm(weight) (+ bias): a Linear with an [in, out] weight, one call either way.</summary>
public sealed class MatMulLinear : DecoderModule
{
    private readonly bool _bias;

    public MatMulLinear(long inFeatures, long outFeatures, bool bias)
        : base(nameof(MatMulLinear))
    {
        _bias = bias;
        register_parameter("weight", Empty(inFeatures, outFeatures));
        if (bias)
        {
            register_parameter("bias", Empty(outFeatures));
        }
    }

    /// <summary>x [rows, in] → [rows, out]; the bias is addmm's input, so it costs no extra call.</summary>
    public Tensor Forward(Tensor x) => _bias ? P("bias").addmm(x, P("weight")) : x.mm(P("weight"));

    /// <summary>residual += x.mm(W) (+ bias), in place: GEMM with beta = 1 does the residual add.</summary>
    public void AddTo(Tensor residual, Tensor x)
    {
        residual.addmm_(x, P("weight"));
        if (_bias)
        {
            residual.add_(P("bias"), One);
        }
    }
}

/// <summary>LayerNorm (GPT-2) or RMSNorm (Llama), normalized in fp32 whatever the model dtype.</summary>
public sealed class Norm : DecoderModule
{
    private readonly bool _layerNorm;
    private readonly double _eps;
    private readonly long[] _shape;
    private ScalarType _dtype = ScalarType.Float32;
    private Tensor? _scaledGain;
    private Tensor? _hypotTerm;

    public Norm(long dim, bool layerNorm, double eps)
        : base(nameof(Norm))
    {
        _layerNorm = layerNorm;
        _eps = eps;
        _shape = [dim];
        register_parameter("weight", Empty(dim));
        if (layerNorm)
        {
            register_parameter("bias", Empty(dim));
        }
    }

    /// <summary>
    /// Builds RMSNorm's derived constants once the weights are loaded and moved (not before:
    /// Module.to() converts and re-registers any tensor held in a field).
    /// </summary>
    public void Prepare(ScalarType dtype)
    {
        _dtype = dtype;
        if (_layerNorm)
        {
            return;
        }

        _scaledGain?.Dispose();
        _hypotTerm?.Dispose();
        using (no_grad())
        {
            _scaledGain = P("weight").mul(Math.Sqrt(_shape[0]));
        }

        // A 0-dim CPU tensor: libtorch takes it as a scalar operand on any device.
        _hypotTerm = tensor(Math.Sqrt(_shape[0] * _eps), ScalarType.Float32);
    }

    public Tensor Forward(Tensor x)
    {
        if (_layerNorm)
        {
            // One call; libtorch's layer_norm accumulates in fp32 for half types.
            return nn.functional.layer_norm(x, _shape, P("weight"), P("bias"), _eps);
        }

        return RmsNorm(x);
    }

    /// <summary>
    /// RMSNorm x / sqrt(mean(x²) + eps) * w in 4 calls (fp32; 6 in half types, which normalize in
    /// fp32) instead of 6 (8): with d the width, sqrt(mean(x²) + eps) * sqrt(d) = hypot(‖x‖, sqrt(d·eps)),
    /// so y = x / hypot(‖x‖, sqrt(d·eps)) * (w·sqrt(d)).
    /// </summary>
    private Tensor RmsNorm(Tensor x)
    {
        if (_scaledGain is null || _hypotTerm is null)
        {
            throw new InvalidOperationException("Norm.Prepare was not called after loading the weights.");
        }

        bool fp32 = _dtype == ScalarType.Float32;
        Tensor x32 = fp32 ? x : x.to(ScalarType.Float32);
        Tensor rms = linalg.vector_norm(x32, 2, [-1L], keepdim: true).hypot(_hypotTerm);
        Tensor y = x32.div(rms);
        return fp32 ? y.mul_(_scaledGain) : y.to(_dtype).mul_(_scaledGain);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _scaledGain?.Dispose();
            _hypotTerm?.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// Causal self-attention with grouped K/V heads over a KV cache per layer
/// [2 (K, V), rows, kv_heads, tokens, head_dim]: the pass's K and V are written into the cache
/// at their positions by one copy, then the queries attend to cache positions [0, position + seq).
/// Plain baddbmm + softmax + bmm, no scaled_dot_product_attention: on CUDA that avoids cuDNN's
/// per-length plan builds (the attention trap of shared/device/README.md), and a query group attends
/// to its K/V head without repeating it. Softmax runs in the model dtype: on CUDA, libtorch's softmax
/// accumulates in fp32 for half types anyway.
/// </summary>
public sealed class Attention : DecoderModule
{
    private readonly int _h;
    private readonly int _kvh;
    private readonly int _hd;
    private readonly int _g;
    private readonly long _width;
    private readonly float _scale;

    public Attention(DecoderConfig c)
        : base(nameof(Attention))
    {
        (_h, _kvh, _hd) = (c.Heads, c.KvHeads, c.HeadDim);
        _g = _h / _kvh;
        _width = c.QkvWidth;
        _scale = (float)(1.0 / Math.Sqrt(_hd));
        register_module("qkv", Qkv = new MatMulLinear(c.Hidden, c.QkvWidth, c.QkvBias));
        register_module("out", Out = new MatMulLinear((long)c.Heads * c.HeadDim, c.Hidden, c.Architecture == DecoderArchitecture.Gpt2));
    }

    public MatMulLinear Qkv { get; }

    public MatMulLinear Out { get; }

    /// <summary>
    /// residual += attention(x), in place. x, residual: [rows, hidden]; cache: this layer's
    /// [2, batch, kv_heads, max_context, head_dim]; <paramref name="zero"/>: a 1-element tensor of
    /// the model dtype standing in for the mask when there is none (baddbmm needs an input; beta = 0
    /// ignores it).
    /// </summary>
    public void AddTo(Tensor residual, Tensor x, DecoderPass pass, Tensor cache, Tensor zero)
    {
        long b = pass.Batch, s = pass.Seq, w = _width, hd = _hd, total = pass.Total;
        long bk = b * _kvh, max = pass.MaxContext;

        // qkv [rows, (h + 2 kvh) hd], row = batch * s + token; its columns are q heads, k heads, v heads.
        Tensor qkv = Qkv.Forward(x);
        if (pass.Cos is not null)
        {
            // Rotate q and k heads in place, as one [b, s, h + kvh, hd] view.
            Rope(qkv.as_strided([b, s, _h + _kvh, hd], [s * w, w, hd, 1]), hd / 2, pass.Cos, pass.SignedSin!);
        }

        // K and V of this pass as one [2, b, kvh, s, hd] view: one copy into the cache (a scatter
        // when each row has its own position; a narrow to the pass's rows when it has not all of them).
        Tensor kv = qkv.as_strided([2, b, _kvh, s, hd], [_kvh * hd, s * w, hd, w, 1], _h * hd);
        long rows = pass.CacheRows < 0 ? b : pass.CacheRows;
        Tensor cacheRows = pass.FirstRow == 0 && b == rows ? cache : cache.narrow(1, pass.FirstRow, b);
        if (pass.KvIndex is { } index)
        {
            cacheRows.scatter_(3, index, kv);
        }
        else
        {
            cacheRows.narrow(3, pass.Position, s).copy_(kv);
        }

        long first = pass.FirstRow * _kvh * max * hd;

        // Query head j*g + i uses K/V head j: queries as [b * kvh, g * s, hd] (rows: group, then token;
        // a copy unless b = s = 1), keys transposed [b * kvh, hd, total] and values [b * kvh, total, hd]
        // read in place from the cache.
        Tensor q = qkv.as_strided([b, _kvh, _g, s, hd], [s * w, _g * hd, hd, w, 1]).reshape(bk, _g * s, hd);
        Tensor keysT = cache.as_strided([bk, hd, total], [max * hd, 1, hd], first);
        Tensor values = cache.as_strided([bk, total, hd], [max * hd, hd, 1], (rows * _kvh * max * hd) + first);

        // scale * q·kᵀ (+ causal mask) in one call. TorchSharp 0.107's Tensor.baddbmm takes the
        // receiver as batch1 and its second argument as the added input (THSTensor_baddbmm(batch1,
        // batch2, mat)), whatever its parameter names say; torch.baddbmm forwards to it.
        Tensor scores = pass.Mask is { } mask
            ? q.baddbmm(keysT, mask, beta: 1, alpha: _scale)
            : q.baddbmm(keysT, zero, beta: 0, alpha: _scale);
        Tensor o = scores.softmax(-1).bmm(values);  // [b * kvh, g * s, hd]

        // Back to [rows, h * hd] with heads in order j*g + i: already that layout when s = 1.
        Tensor merged = s == 1
            ? o.view(b, _h * hd)
            : o.as_strided([b, s, _kvh, _g, hd], [_kvh * _g * s * hd, hd, _g * s * hd, s * hd, 1]).reshape(b * s, _h * hd);
        Out.AddTo(residual, merged);
    }

    /// <summary>
    /// Rotate-half RoPE in place on x [b, s, heads, hd]: x*cos + rotate_half(x)*sin, where
    /// rotate_half(x) = [-x2, x1] = roll(x, hd/2) * [-1, 1], the sign being folded into the sin table.
    /// Three calls, in the model dtype (as Hugging Face's Llama does).
    /// </summary>
    public static void Rope(Tensor x, long half, Tensor cos, Tensor signedSin)
    {
        Tensor rolled = x.roll(half, -1);
        x.mul_(cos).addcmul_(rolled, signedSin, One);
    }
}

/// <summary>GPT-2's GELU (tanh) MLP, or Llama's SwiGLU with fused gate|up.</summary>
public sealed class Mlp : DecoderModule
{
    private readonly bool _gpt2;
    private readonly long _inter;
    private readonly MatMulLinear _in;
    private readonly MatMulLinear _down;

    public Mlp(DecoderConfig c)
        : base(nameof(Mlp))
    {
        _gpt2 = c.Architecture == DecoderArchitecture.Gpt2;
        _inter = c.Intermediate;
        _in = _gpt2 ? new MatMulLinear(c.Hidden, c.Intermediate, true) : new MatMulLinear(c.Hidden, 2L * c.Intermediate, false);
        register_module(_gpt2 ? "up" : "gate_up", _in);
        register_module("down", _down = new MatMulLinear(c.Intermediate, c.Hidden, _gpt2));
    }

    /// <summary>residual += mlp(x), in place.</summary>
    public void AddTo(Tensor residual, Tensor x)
    {
        if (_gpt2)
        {
            _down.AddTo(residual, _in.Forward(x).gelu_(GELU.Approximate.tanh));
            return;
        }

        // silu(gate) * up, in place on the gate half of the fused projection.
        Tensor[] gu = _in.Forward(x).split(_inter, 1);
        _down.AddTo(residual, gu[0].silu_().mul_(gu[1]));
    }
}

/// <summary>
/// One transformer block: pre-norm attention and MLP, each added to the residual stream in place.
/// </summary>
/// <remarks>
/// TorchSharp calls per decode step (seq 1), counted so that a change that adds some shows:
/// GPT-2 20 = layer_norm 2, qkv addmm 1, K/V view + cache narrow + copy_ 3, q view + reshape 2,
/// K/V cache views 2, baddbmm + softmax + bmm 3, merge view 1, out addmm_ + bias add_ 2,
/// up addmm + gelu_ 2, down addmm_ + bias add_ 2.
/// Llama 30 (fp32) = RMSNorm 2 × 4, qkv mm 1, RoPE view + roll + mul_ + addcmul_ 4, then attention
/// as GPT-2 minus the bias add (11 + out addmm_ 1), gate_up mm + split + silu_ + mul_ 4, down addmm_ 1;
/// bf16 adds 2 casts per RMSNorm (34). Before this layout: GPT-2 37, Llama 55 (fp32) and 63 (bf16).
/// </remarks>
public sealed class Block : DecoderModule
{
    public Block(DecoderConfig c)
        : base(nameof(Block))
    {
        bool ln = c.Architecture == DecoderArchitecture.Gpt2;
        register_module("norm1", Norm1 = new Norm(c.Hidden, ln, c.NormEps));
        register_module("attn", Attn = new Attention(c));
        register_module("norm2", Norm2 = new Norm(c.Hidden, ln, c.NormEps));
        register_module("mlp", Mlp = new Mlp(c));
    }

    public Norm Norm1 { get; }

    public Attention Attn { get; }

    public Norm Norm2 { get; }

    public Mlp Mlp { get; }

    /// <summary>Updates the residual stream x [rows, hidden] in place.</summary>
    public void Forward(Tensor x, DecoderPass pass, Tensor cache, Tensor zero)
    {
        Attn.AddTo(x, Norm1.Forward(x), pass, cache, zero);
        Mlp.AddTo(x, Norm2.Forward(x));
    }
}
