using Harness.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Torch.Decoder;

/// <summary>
/// The whole decoder: embeddings, blocks h0..h{L-1}, final norm, LM head (tied or not), plus its
/// preallocated KV cache and rotary tables. <see cref="Forward"/> returns fp32 logits of the last
/// position of each sequence.
/// </summary>
public sealed class TorchDecoderModel : DecoderModule
{
    private readonly DecoderConfig _c;
    private readonly List<Block> _blocks = [];
    private readonly Norm _normF;
    private Tensor[] _kCache = [];
    private Tensor[] _vCache = [];
    private Tensor? _cos;
    private Tensor? _sin;

    public TorchDecoderModel(DecoderConfig c)
        : base(nameof(TorchDecoderModel))
    {
        _c = c;
        register_parameter(WeightLayout.TokenEmbedding, Empty(c.Vocab, c.Hidden));
        if (c.Architecture == DecoderArchitecture.Gpt2)
        {
            register_parameter(WeightLayout.PositionEmbedding, Empty(c.MaxPositions, c.Hidden));
        }

        for (int i = 0; i < c.Layers; i++)
        {
            var block = new Block(c);
            _blocks.Add(block);
            register_module($"h{i}", block);
        }

        register_module("norm_f", _normF = new Norm(c.Hidden, c.Architecture == DecoderArchitecture.Gpt2, c.NormEps));
        if (!c.TieEmbeddings)
        {
            register_parameter(WeightLayout.LmHead, Empty(c.Hidden, c.Vocab));
        }
    }

    public ScalarType DType { get; private set; } = ScalarType.Float32;

    public Device Device { get; private set; } = CPU;

    public int MaxContext { get; private set; }

    public int Vocab => _c.Vocab;

    /// <summary>
    /// Fills every parameter from the seeded generator (in place, fp32 on the CPU), then moves the
    /// model to <paramref name="device"/> in <paramref name="dtype"/>.
    /// </summary>
    public void LoadWeights(WeightGenerator generator, ScalarType dtype, Device device)
    {
        var layout = WeightLayout.For(_c).ToDictionary(w => w.Name);
        using (no_grad())
        {
            foreach ((string name, Parameter p) in named_parameters())
            {
                if (!layout.TryGetValue(name, out WeightSpec? spec))
                {
                    throw new InvalidOperationException($"Parameter {name} is not in the canonical weight layout.");
                }

                if (!p.shape.SequenceEqual(spec.Shape))
                {
                    throw new InvalidOperationException($"Parameter {name} has shape [{string.Join(",", p.shape)}], the layout says [{string.Join(",", spec.Shape)}].");
                }

                generator.FillParallel(spec, p.storage<float>().data_ptr(), spec.Elements);
            }

            if (dtype != ScalarType.Float32)
            {
                this.to(dtype);
            }

            if (device.type != DeviceType.CPU)
            {
                this.to(device);
            }
        }

        DType = dtype;
        Device = device;
        if (_c.Architecture == DecoderArchitecture.Llama)
        {
            (float[] cos, float[] sin) = RopeTables.Compute(_c, _c.MaxPositions);
            _cos?.Dispose();
            _sin?.Dispose();
            // Full-width tables [positions, head_dim]: each half repeated, as rotate-half needs.
            using Tensor c = tensor(cos, [_c.MaxPositions, _c.HeadDim / 2], ScalarType.Float32);
            using Tensor sn = tensor(sin, [_c.MaxPositions, _c.HeadDim / 2], ScalarType.Float32);
            _cos = cat([c, c], -1).to(device);
            _sin = cat([sn, sn], -1).to(device);
        }
    }

    /// <summary>Allocates the KV cache of every layer once: [batch, kv_heads, maxContext, head_dim].</summary>
    public void AllocateCache(int batch, int maxContext)
    {
        foreach (Tensor t in _kCache.Concat(_vCache))
        {
            t.Dispose();
        }

        MaxContext = maxContext;
        _kCache = new Tensor[_c.Layers];
        _vCache = new Tensor[_c.Layers];
        for (int i = 0; i < _c.Layers; i++)
        {
            _kCache[i] = zeros([batch, _c.KvHeads, maxContext, _c.HeadDim], DType, Device);
            _vCache[i] = zeros([batch, _c.KvHeads, maxContext, _c.HeadDim], DType, Device);
        }
    }

    /// <summary>
    /// Runs <paramref name="ids"/> [batch, seq] at cache positions [position, position + seq) and
    /// returns fp32 logits [batch, vocab] of the last position.
    /// </summary>
    public Tensor Forward(Tensor ids, int position)
    {
        long b = ids.shape[0], s = ids.shape[1];
        if (position + s > MaxContext)
        {
            throw new InvalidOperationException($"Position {position} + {s} tokens exceed the KV cache ({MaxContext}).");
        }

        Tensor embed = get_parameter(WeightLayout.TokenEmbedding)!;
        Tensor x = embed.index_select(0, ids.reshape(b * s)).view(b, s, _c.Hidden);
        if (_c.Architecture == DecoderArchitecture.Gpt2)
        {
            x = x.add(get_parameter(WeightLayout.PositionEmbedding)!.narrow(0, position, s));
        }

        Tensor? cos = _cos?.narrow(0, position, s), sin = _sin?.narrow(0, position, s);
        Tensor? mask = null;
        if (s > 1)
        {
            // Query i (absolute position + i) must not see keys after it: true = masked.
            mask = ones([s, position + s], ScalarType.Bool, Device).triu(position + 1);
        }

        for (int i = 0; i < _blocks.Count; i++)
        {
            x = _blocks[i].Forward(x, position, _kCache[i], _vCache[i], cos, sin, mask);
        }

        Tensor last = x.narrow(1, s - 1, 1).view(b, _c.Hidden);
        Tensor n = _normF.Forward(last);
        Tensor logits = _c.TieEmbeddings ? n.matmul(embed.t()) : n.matmul(get_parameter(WeightLayout.LmHead)!);
        return logits.to(ScalarType.Float32);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (Tensor t in _kCache.Concat(_vCache))
            {
                t.Dispose();
            }

            _cos?.Dispose();
            _sin?.Dispose();
        }

        base.Dispose(disposing);
    }
}
