using Harness.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Torch.Decoder;

/// <summary>
/// The decoder as TorchSharp modules. Module and parameter names are the canonical names of
/// <see cref="WeightLayout"/> ("h3.attn.qkv.weight"), so the weights of both backends come from the
/// same generator by name. Matrices are [in, out] and applied as x.matmul(W).
/// </summary>
public abstract class DecoderModule : nn.Module
{
    protected DecoderModule(string name)
        : base(name)
    {
    }

    /// <summary>An uninitialized fp32 CPU parameter; <see cref="TorchDecoderModel.LoadWeights"/> fills it.</summary>
    protected static Parameter Empty(params long[] shape) => new(empty(shape, ScalarType.Float32), requires_grad: false);

    protected Tensor P(string name) => get_parameter(name) ?? throw new InvalidOperationException($"{GetName()} has no parameter {name}.");
}

/// <summary>x.matmul(weight) (+ bias): a Linear with an [in, out] weight.</summary>
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

    public Tensor Forward(Tensor x)
    {
        Tensor y = x.matmul(P("weight"));
        return _bias ? y.add_(P("bias")) : y;
    }
}

/// <summary>LayerNorm (GPT-2) or RMSNorm (Llama), computed in fp32 whatever the model dtype.</summary>
public sealed class Norm : DecoderModule
{
    private readonly bool _layerNorm;
    private readonly double _eps;
    private readonly long _dim;

    public Norm(long dim, bool layerNorm, double eps)
        : base(nameof(Norm))
    {
        _layerNorm = layerNorm;
        _eps = eps;
        _dim = dim;
        register_parameter("weight", Empty(dim));
        if (layerNorm)
        {
            register_parameter("bias", Empty(dim));
        }
    }

    public Tensor Forward(Tensor x)
    {
        if (_layerNorm)
        {
            // libtorch's layer_norm accumulates in fp32 for half types; weights share x's dtype.
            return nn.functional.layer_norm(x, [_dim], P("weight"), P("bias"), _eps);
        }

        ScalarType t = x.dtype;
        Tensor x32 = t == ScalarType.Float32 ? x : x.to(ScalarType.Float32);
        Tensor inv = x32.pow(2).mean([-1L], keepdim: true).add_(_eps).rsqrt_();
        Tensor y = x32.mul(inv);
        return t == ScalarType.Float32 ? y.mul_(P("weight")) : y.to(t).mul_(P("weight"));
    }
}

/// <summary>
/// Causal self-attention with grouped K/V heads and a preallocated KV cache [batch, kv_heads,
/// max_context, head_dim]: the step's K and V are written into the cache at their positions, then
/// the queries attend to cache positions [0, position + seq). Plain matmul + softmax (fp32), no
/// scaled_dot_product_attention: on CUDA that avoids cuDNN's per-length plan builds (the attention
/// trap of shared/device/README.md), and a query group attends to its K/V head without repeating it.
/// </summary>
public sealed class Attention : DecoderModule
{
    private readonly DecoderConfig _c;

    public Attention(DecoderConfig c)
        : base(nameof(Attention))
    {
        _c = c;
        register_module("qkv", Qkv = new MatMulLinear(c.Hidden, c.QkvWidth, c.QkvBias));
        register_module("out", Out = new MatMulLinear((long)c.Heads * c.HeadDim, c.Hidden, c.Architecture == DecoderArchitecture.Gpt2));
    }

    public MatMulLinear Qkv { get; }

    public MatMulLinear Out { get; }

    public Tensor Forward(Tensor x, int position, Tensor kCache, Tensor vCache, Tensor? cos, Tensor? sin, Tensor? causalMask)
    {
        long b = x.shape[0], s = x.shape[1];
        int h = _c.Heads, kvh = _c.KvHeads, hd = _c.HeadDim, g = h / kvh;
        Tensor qkv = Qkv.Forward(x);
        // q and k heads together as [b, s, h + kvh, hd]: one rotary pass for both.
        Tensor qk = qkv.narrow(-1, 0, (long)(h + kvh) * hd).view(b, s, h + kvh, hd);
        if (cos is not null)
        {
            qk = Rope(qk, cos, sin!);
        }

        Tensor q = qk.narrow(2, 0, h).transpose(1, 2);
        Tensor k = qk.narrow(2, h, kvh).transpose(1, 2);
        Tensor v = qkv.narrow(-1, (long)(h + kvh) * hd, (long)kvh * hd).view(b, s, kvh, hd).transpose(1, 2);
        kCache.narrow(2, position, s).copy_(k);
        vCache.narrow(2, position, s).copy_(v);
        long total = position + s;
        Tensor keys = kCache.narrow(2, 0, total);
        Tensor values = vCache.narrow(2, 0, total);

        // Query head j*g + i uses K/V head j: group the queries as [b, kvh, g*s, hd].
        Tensor qg = q.reshape(b, kvh, g * s, hd);
        Tensor scores = qg.matmul(keys.transpose(2, 3));
        if (scores.dtype != ScalarType.Float32)
        {
            scores = scores.to(ScalarType.Float32);
        }

        scores.mul_(1.0 / Math.Sqrt(hd));
        if (causalMask is not null)
        {
            scores = scores.view(b, kvh, g, s, total).masked_fill(causalMask, double.NegativeInfinity).view(b, kvh, g * s, total);
        }

        Tensor probs = scores.softmax(-1);
        if (probs.dtype != values.dtype)
        {
            probs = probs.to(values.dtype);
        }

        Tensor o = probs.matmul(values)              // [b, kvh, g*s, hd]
            .view(b, kvh, g, s, hd)
            .permute(0, 3, 1, 2, 4)                 // [b, s, kvh, g, hd] = heads in order j*g + i
            .reshape(b, s, (long)h * hd);
        return Out.Forward(o);
    }

    /// <summary>
    /// Rotate-half RoPE in fp32 on [b, s, heads, hd]: x*cos + rotate_half(x)*sin, with cos/sin the
    /// full-width tables [s, hd] (each half repeated) of this step's positions.
    /// </summary>
    private static Tensor Rope(Tensor x, Tensor cos, Tensor sin)
    {
        ScalarType t = x.dtype;
        Tensor x32 = t == ScalarType.Float32 ? x : x.to(ScalarType.Float32);
        long half = x.shape[^1] / 2;
        Tensor rotated = cat([x32.narrow(-1, half, half).neg(), x32.narrow(-1, 0, half)], -1);
        long s = x.shape[1], hd = x.shape[^1];
        Tensor r = x32.mul(cos.view(1, s, 1, hd)).add_(rotated.mul_(sin.view(1, s, 1, hd)));
        return t == ScalarType.Float32 ? r : r.to(t);
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

    public Tensor Forward(Tensor x)
    {
        if (_gpt2)
        {
            return _down.Forward(nn.functional.gelu(_in.Forward(x), GELU.Approximate.tanh));
        }

        Tensor gu = _in.Forward(x);
        Tensor gate = gu.narrow(-1, 0, _inter), upPart = gu.narrow(-1, _inter, _inter);
        return _down.Forward(nn.functional.silu(gate).mul_(upPart));
    }
}

/// <summary>One transformer block: pre-norm attention and MLP, each added to the residual stream.</summary>
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

    public Tensor Forward(Tensor x, int position, Tensor kCache, Tensor vCache, Tensor? cos, Tensor? sin, Tensor? mask)
    {
        x = x.add(Attn.Forward(Norm1.Forward(x), position, kCache, vCache, cos, sin, mask));
        return x.add_(Mlp.Forward(Norm2.Forward(x)));
    }
}
