using Harness.Backends;
using Harness.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Torch.Decoder;

/// <summary>
/// The whole decoder: embeddings, blocks h0..h{L-1}, final norm, LM head (tied or not), plus its
/// preallocated KV cache and rotary tables. <see cref="Forward"/> returns fp32 logits of the last
/// position of each sequence. Tensors that are not parameters (cache, tables, constants) are made after
/// the weights are moved: Module.to() converts and re-registers any tensor it finds in a field.
/// </summary>
public sealed class TorchDecoderModel : DecoderModule
{
    private readonly DecoderConfig _c;
    private readonly List<Block> _blocks = [];
    private readonly Norm _normF;
    private Tensor[] _cache = [];
    private Tensor? _cos;
    private Tensor? _signedSin;
    private Tensor? _zero;

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

    /// <summary>Sequences (rows) the KV cache holds.</summary>
    public int CacheRows { get; private set; }

    /// <summary>The runner whose shape the KV cache has now.</summary>
    public object? CacheOwner { get; private set; }

    public int Vocab => _c.Vocab;

    /// <summary>
    /// Fills every parameter from the weights (seeded or read from a checkpoint; in place, fp32 on the CPU), then moves the
    /// model to <paramref name="device"/> in <paramref name="dtype"/>.
    /// </summary>
    public void LoadWeights(IWeightSource generator, ScalarType dtype, Device device)
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
        foreach (Norm norm in modules().OfType<Norm>())
        {
            norm.Prepare(dtype);
        }

        _zero?.Dispose();
        _zero = zeros([1, 1, 1], dtype, device);
        if (_c.Architecture == DecoderArchitecture.Llama)
        {
            _cos?.Dispose();
            _signedSin?.Dispose();
            (_cos, _signedSin) = RotaryTables(_c, dtype, device);
        }
    }

    /// <summary>
    /// RoPE tables for <see cref="Attention.Rope"/>, [max_positions, 1, head_dim] in the model dtype:
    /// cos with each half repeated, sin as [-sin, sin] (rotate_half's sign), so that one narrow gives
    /// a slice that broadcasts over batch and heads.
    /// </summary>
    internal static (Tensor Cos, Tensor SignedSin) RotaryTables(DecoderConfig c, ScalarType dtype, Device device)
    {
        (float[] cos, float[] sin) = RopeTables.Compute(c, c.MaxPositions);
        using Tensor half = tensor(cos, [c.MaxPositions, 1, c.HeadDim / 2], ScalarType.Float32);
        using Tensor sn = tensor(sin, [c.MaxPositions, 1, c.HeadDim / 2], ScalarType.Float32);
        using Tensor negSn = sn.neg();
        using Tensor fullCos = cat([half, half], -1);
        using Tensor signedSin = cat([negSn, sn], -1);
        return (fullCos.to(dtype, device), signedSin.to(dtype, device));
    }

    /// <summary>
    /// Allocates the KV cache of every layer once: [2 (K, V), batch, kv_heads, maxContext, head_dim],
    /// one tensor per layer so that a step writes its K and V with one copy.
    /// </summary>
    /// <param name="owner">The runner that uses it (see <see cref="CacheOwner"/>).</param>
    public void AllocateCache(int batch, int maxContext, object? owner = null)
    {
        CacheOwner = owner;
        foreach (Tensor t in _cache)
        {
            t.Dispose();
        }

        MaxContext = maxContext;
        CacheRows = batch;
        _cache = new Tensor[_c.Layers];
        for (int i = 0; i < _c.Layers; i++)
        {
            _cache[i] = zeros([2, batch, _c.KvHeads, maxContext, _c.HeadDim], DType, Device);
        }
    }

    /// <summary>
    /// Runs <paramref name="ids"/> (batch × seq token ids, flat, sequence-major) at cache positions
    /// [position, position + seq) and returns logits [batch, vocab] (fp32) of the last position.
    /// The shape comes in as numbers: reading it from the tensor would be more calls.
    /// </summary>
    /// <param name="firstRow">The cache row of the first sequence (a slot prefilled alone); the pass uses rows [firstRow, firstRow + batch).</param>
    public Tensor Forward(Tensor ids, int batch, int seq, int position, int firstRow = 0)
    {
        if (position + seq > MaxContext)
        {
            throw new InvalidOperationException($"Position {position} + {seq} tokens exceed the KV cache ({MaxContext}).");
        }

        if (firstRow + batch > CacheRows)
        {
            throw new InvalidOperationException($"Rows {firstRow} to {firstRow + batch - 1} are not in the KV cache ({CacheRows} rows).");
        }

        long b = batch, s = seq, d = _c.Hidden;
        Tensor embed = get_parameter(WeightLayout.TokenEmbedding)!;
        // The residual stream: [b * s, hidden], updated in place by every block.
        Tensor x = embed.index_select(0, ids);
        if (_c.Architecture == DecoderArchitecture.Gpt2)
        {
            x.view(b, s, d).add_(get_parameter(WeightLayout.PositionEmbedding)!.narrow(0, position, s), One);
        }

        Tensor? mask = null;
        if (s > 1)
        {
            // Query i (absolute position + i) must not see keys after it; rows are (group, token), as
            // the attention orders its queries.
            Tensor future = ones([s, position + s], ScalarType.Bool, Device).triu(position + 1);
            mask = zeros([s, position + s], DType, Device).masked_fill_(future, double.NegativeInfinity).repeat(_c.Heads / _c.KvHeads, 1);
        }

        var pass = new DecoderPass(b, s, position, MaxContext, _cos?.narrow(0, position, s), _signedSin?.narrow(0, position, s), mask, firstRow, CacheRows);
        for (int i = 0; i < _blocks.Count; i++)
        {
            _blocks[i].Forward(x, pass, _cache[i], _zero!);
        }

        return Logits(s == 1 ? x : x.view(b, s, d).select(1, s - 1));
    }

    /// <summary>
    /// One decode step of cache rows [0, <paramref name="rows"/>), each at its own position: row r
    /// feeds token <paramref name="ids"/>[r] at <paramref name="positions"/>[r] (its cache holds that
    /// many tokens) and attends to positions [0, positions[r]]; returns logits [rows, vocab] (fp32).
    /// </summary>
    public Tensor ForwardRows(Tensor ids, int rows, ReadOnlySpan<int> positions)
    {
        if (rows > CacheRows)
        {
            throw new InvalidOperationException($"{rows} rows decode in a KV cache of {CacheRows}.");
        }

        int longest = 0;
        var host = new long[rows];
        for (int r = 0; r < rows; r++)
        {
            host[r] = positions[r];
            longest = Math.Max(longest, positions[r]);
        }

        if (longest >= MaxContext)
        {
            throw new InvalidOperationException($"Position {longest} is past the KV cache ({MaxContext}).");
        }

        long total = longest + 1, kvh = _c.KvHeads;
        Tensor pos = tensor(host, [rows], ScalarType.Int64).to(Device);
        Tensor embed = get_parameter(WeightLayout.TokenEmbedding)!;
        Tensor x = embed.index_select(0, ids);
        if (_c.Architecture == DecoderArchitecture.Gpt2)
        {
            x.add_(get_parameter(WeightLayout.PositionEmbedding)!.index_select(0, pos), One);
        }

        // Row r sees keys [0, positions[r]]: an additive length mask per (row, kv head), broadcast over the query group.
        Tensor beyond = arange(total, ScalarType.Int64, Device).unsqueeze(0).gt(pos.unsqueeze(1));
        Tensor mask = zeros([rows, total], DType, Device).masked_fill_(beyond, double.NegativeInfinity)
            .view(rows, 1, 1, total).expand(rows, kvh, 1, total).reshape(rows * kvh, 1, total);
        Tensor index = pos.view(1, rows, 1, 1, 1).expand(2, rows, kvh, 1, _c.HeadDim);
        Tensor? cos = _cos?.index_select(0, pos).view(rows, 1, 1, _c.HeadDim);
        Tensor? sin = _signedSin?.index_select(0, pos).view(rows, 1, 1, _c.HeadDim);
        var pass = new DecoderPass(rows, 1, longest, MaxContext, cos, sin, mask, 0, CacheRows, index);
        for (int i = 0; i < _blocks.Count; i++)
        {
            _blocks[i].Forward(x, pass, _cache[i], _zero!);
        }

        return Logits(x);
    }

    /// <summary>Final norm and LM head of the last positions [batch, hidden]: logits [batch, vocab] in fp32.</summary>
    private Tensor Logits(Tensor last)
    {
        Tensor embed = get_parameter(WeightLayout.TokenEmbedding)!;
        Tensor n = _normF.Forward(last);
        Tensor logits = _c.TieEmbeddings ? nn.functional.linear(n, embed) : n.mm(get_parameter(WeightLayout.LmHead)!);
        return DType == ScalarType.Float32 ? logits : logits.to(ScalarType.Float32);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (Tensor t in _cache)
            {
                t.Dispose();
            }

            _cos?.Dispose();
            _signedSin?.Dispose();
            _zero?.Dispose();
        }

        base.Dispose(disposing);
    }
}
