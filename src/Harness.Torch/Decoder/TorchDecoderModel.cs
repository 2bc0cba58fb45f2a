using Harness.Backends;
using Harness.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Torch.Decoder;

/// <summary>
/// The whole decoder: embeddings, blocks h0..h{L-1}, final norm, LM head (tied or not), plus its
/// KV cache (rows x tokens, resized by <see cref="TorchDecoder"/> as sequences join, grow and leave)
/// and rotary tables. <see cref="Forward"/> returns fp32 logits of the last
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
    private Tensor? _negInf;
    private Tensor? _keyPositions;

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

    /// <summary>Tokens each row of the KV cache holds.</summary>
    public int CacheTokens { get; private set; }

    /// <summary>Sequences (rows) the KV cache holds.</summary>
    public int CacheRows { get; private set; }

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
        foreach (Norm norm in modules().OfType<Norm>())
        {
            norm.Prepare(dtype);
        }

        _zero?.Dispose();
        _negInf?.Dispose();
        _keyPositions?.Dispose();
        _zero = zeros([1, 1, 1], dtype, device);
        _negInf = full([1, 1, 1], double.NegativeInfinity, dtype, device);
        using (Tensor positions = arange(_c.MaxPositions, ScalarType.Int64, device))
        {
            _keyPositions = positions.view(1, 1, _c.MaxPositions);
        }
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
    /// Makes the KV cache of every layer <c>[2 (K, V), rows, kv_heads, tokens, head_dim]</c> (one tensor per
    /// layer, so that a pass writes its K and V with one copy), keeping the first <c>lengths[r]</c>
    /// tokens of each row r &lt; lengths.Length: one copy per layer of the live rows' common prefix (a
    /// row's tokens past its length are stale and masked). The rest is zeroed, not left as it was
    /// allocated: a masked key still enters the score matmul, and garbage there could be NaN.
    /// </summary>
    public void ResizeCache(int rows, int tokens, ReadOnlySpan<int> lengths)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lengths.Length, rows);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(tokens, _c.MaxPositions);
        int live = lengths.Length, keep = 0;
        foreach (int length in lengths)
        {
            keep = Math.Max(keep, length);
        }

        keep = _cache.Length == 0 ? 0 : Math.Min(keep, Math.Min(tokens, CacheTokens));
        var resized = new Tensor[_c.Layers];
        using (no_grad())
        {
            using var scope = NewDisposeScope();
            for (int i = 0; i < _c.Layers; i++)
            {
                Tensor t = empty([2, rows, _c.KvHeads, tokens, _c.HeadDim], DType, Device);
                if (live > 0 && keep > 0)
                {
                    t.narrow(1, 0, live).narrow(3, 0, keep).copy_(_cache[i].narrow(1, 0, live).narrow(3, 0, keep));
                    if (keep < tokens)
                    {
                        t.narrow(3, keep, tokens - keep).zero_();
                    }

                    if (live < rows)
                    {
                        t.narrow(1, live, rows - live).narrow(3, 0, keep).zero_();
                    }
                }
                else
                {
                    t.zero_();
                }

                resized[i] = t.DetachFromDisposeScope();
            }
        }

        foreach (Tensor t in _cache)
        {
            t.Dispose();
        }

        _cache = resized;
        CacheRows = rows;
        CacheTokens = tokens;
    }

    /// <summary>
    /// Copies the first <paramref name="tokens"/> cached tokens of row <paramref name="from"/> to row
    /// <paramref name="to"/>, in every layer.
    /// </summary>
    public void MoveRow(int from, int to, int tokens)
    {
        if (from >= CacheRows || to >= CacheRows || tokens > CacheTokens)
        {
            throw new InvalidOperationException(
                $"Row {from} to {to} ({tokens} tokens) is outside the KV cache ({CacheRows} x {CacheTokens}).");
        }

        if (from == to || tokens == 0)
        {
            return;
        }

        using (no_grad())
        {
            using var scope = NewDisposeScope();
            foreach (Tensor layer in _cache)
            {
                layer.narrow(1, to, 1).narrow(3, 0, tokens).copy_(layer.narrow(1, from, 1).narrow(3, 0, tokens));
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="ids"/> (batch × seq token ids, flat, sequence-major) at cache positions
    /// [position, position + seq) of cache rows [<paramref name="firstRow"/>, + batch) and returns
    /// logits [batch, vocab] (fp32) of each sequence's last position, or, with <paramref name="last"/>,
    /// of the flat rows it names (ragged prompts, right-padded: each row's last valid token).
    /// The shape comes in as numbers: reading it from the tensor would be more calls.
    /// </summary>
    public Tensor Forward(Tensor ids, int batch, int seq, int position, int firstRow = 0, Tensor? last = null)
    {
        if (position + seq > CacheTokens)
        {
            throw new InvalidOperationException($"Position {position} + {seq} tokens exceed the KV cache ({CacheTokens}).");
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
            // the attention orders its queries. A right-padded row's valid queries see only its own
            // tokens under this mask alone; its padding's outputs are dropped and its padding's K and
            // V lie past its length, masked in decode until overwritten.
            Tensor future = ones([s, position + s], ScalarType.Bool, Device).triu(position + 1);
            mask = zeros([s, position + s], DType, Device).masked_fill_(future, double.NegativeInfinity).repeat(_c.Heads / _c.KvHeads, 1);
        }

        Tensor? cos = _cos?.narrow(0, position, s), sin = _signedSin?.narrow(0, position, s);
        var pass = new DecoderPass(b, s, position, CacheTokens, cos, sin, mask, firstRow, CacheRows);
        for (int i = 0; i < _blocks.Count; i++)
        {
            _blocks[i].Forward(x, pass, _cache[i], _zero!);
        }

        return Logits(last is not null ? x.index_select(0, last) : s == 1 ? x : x.view(b, s, d).select(1, s - 1));
    }

    /// <summary>
    /// Ragged prompts into cache rows [<paramref name="firstRow"/>, + lengths.Length) from position 0:
    /// <paramref name="padded"/> holds row i's prompt at [i * seq, i * seq + lengths[i]) (the rest is
    /// padding), seq being the longest. Returns logits [rows, vocab] (fp32) at each row's last token.
    /// One host-to-device copy: the ids, then each row's last flat index when the lengths differ.
    /// </summary>
    public Tensor ForwardPrompts(long[] padded, int seq, ReadOnlySpan<int> lengths, int firstRow)
    {
        int n = lengths.Length;
        bool ragged = false;
        foreach (int length in lengths)
        {
            ragged |= length != seq;
        }

        int flat = n * seq;
        var host = new long[flat + (ragged ? n : 0)];
        padded.AsSpan(0, flat).CopyTo(host);
        if (ragged)
        {
            for (int i = 0; i < n; i++)
            {
                host[flat + i] = ((long)i * seq) + lengths[i] - 1;
            }
        }

        Tensor all = ToDevice(tensor(host, [host.Length], ScalarType.Int64));
        return ragged
            ? Forward(all.narrow(0, 0, flat), n, seq, 0, firstRow, all.narrow(0, flat, n))
            : Forward(all, n, seq, 0, firstRow);
    }

    /// <summary>
    /// One decode step of cache rows [0, tokens.Length), each at its own position: row r feeds
    /// <paramref name="tokens"/>[r] at <paramref name="positions"/>[r] (its cache holds that many
    /// tokens) and attends to positions [0, positions[r]]; returns logits [rows, vocab] (fp32). When
    /// every row is at the same position (a batch that joined together) it is the plain step (no mask,
    /// one copy of K and V at that position); else K and V are scattered to each row's position and
    /// each row's attention is masked to its length, the mask made from a cached position row by one
    /// comparison. One host-to-device copy per step: the tokens, then the positions when they differ.
    /// </summary>
    public Tensor ForwardRows(ReadOnlySpan<long> tokens, ReadOnlySpan<int> positions)
    {
        int rows = tokens.Length;
        if (rows > CacheRows || positions.Length != rows)
        {
            throw new InvalidOperationException($"{rows} rows ({positions.Length} positions) decode in a KV cache of {CacheRows}.");
        }

        int longest = 0;
        bool uniform = true;
        for (int r = 0; r < rows; r++)
        {
            longest = Math.Max(longest, positions[r]);
            uniform &= positions[r] == positions[0];
        }

        if (longest >= CacheTokens)
        {
            throw new InvalidOperationException($"Position {longest} is past the KV cache ({CacheTokens}).");
        }

        if (uniform)
        {
            return Forward(ToDevice(tensor(tokens.ToArray(), [rows], ScalarType.Int64)), rows, 1, longest);
        }

        // Host: tokens [rows], positions [rows], each row's position per K/V head [rows * kv_heads].
        int kvh = _c.KvHeads;
        var host = new long[rows * (2 + kvh)];
        tokens.CopyTo(host);
        for (int r = 0; r < rows; r++)
        {
            host[rows + r] = positions[r];
            host.AsSpan((2 * rows) + (r * kvh), kvh).Fill(positions[r]);
        }

        long total = longest + 1;
        Tensor all = ToDevice(tensor(host, [host.Length], ScalarType.Int64));
        Tensor ids = all.narrow(0, 0, rows);
        Tensor pos = all.narrow(0, rows, rows);
        Tensor posKv = all.narrow(0, 2 * rows, rows * kvh);
        Tensor embed = get_parameter(WeightLayout.TokenEmbedding)!;
        Tensor x = embed.index_select(0, ids);
        if (_c.Architecture == DecoderArchitecture.Gpt2)
        {
            x.add_(get_parameter(WeightLayout.PositionEmbedding)!.index_select(0, pos), One);
        }

        // Row r sees keys [0, positions[r]]: an additive length mask per (row, kv head)
        // [rows * kv_heads, 1, total], broadcast over the query group.
        Tensor mask = where(_keyPositions!.narrow(2, 0, total).gt(posKv.view(rows * kvh, 1, 1)), _negInf!, _zero!);
        Tensor index = posKv.view(1, rows, kvh, 1, 1).expand(2, rows, kvh, 1, _c.HeadDim);
        Tensor? cos = _cos?.index_select(0, pos).view(rows, 1, 1, _c.HeadDim);
        Tensor? sin = _signedSin?.index_select(0, pos).view(rows, 1, 1, _c.HeadDim);
        var pass = new DecoderPass(rows, 1, longest, CacheTokens, cos, sin, mask, 0, CacheRows, index);
        for (int i = 0; i < _blocks.Count; i++)
        {
            _blocks[i].Forward(x, pass, _cache[i], _zero!);
        }

        return Logits(x);
    }

    private Tensor ToDevice(Tensor host) => Device.type == DeviceType.CPU ? host : host.to(Device);

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
            _negInf?.Dispose();
            _keyPositions?.Dispose();
        }

        base.Dispose(disposing);
    }
}
