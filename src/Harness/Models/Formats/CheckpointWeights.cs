using Harness.Backends;
using Harness.Hardware.Catalog;

namespace Harness.Models.Formats;

/// <summary>How a GGUF file's matrix of one element type reaches MatMulNBits (<see cref="CheckpointWeights.MappingOf"/>).</summary>
public enum BlockMapping
{
    /// <summary>Its values (float, or dequantized) quantized by the harness as the run asks.</summary>
    Quantize,

    /// <summary>q4_0 (int4) or q8_0 (int8) blocks of 32 repacked as they are.</summary>
    Repack,

    /// <summary>q4_K: 4-bit blocks of 32 with the file's values and sub-block scales, its mins rounded to uint4 zero points.</summary>
    Q4KZeroPoints,

    /// <summary>q6_K: 8-bit blocks of 16, as they are (int4 and int8 runs alike).</summary>
    Q6KBlocks,
}

/// <summary>
/// Weights read from a checkpoint (a Hugging Face folder's safetensors, a GGUF file, or the initializers of the ONNX
/// folder <c>harness export --format onnx</c> writes, <see cref="OnnxInitializers"/>), served in the
/// canonical layout: each canonical tensor is built whole from its file tensors (transposed, joined,
/// dequantized to fp32) when first asked for, and kept until another is asked for, so the loader
/// streams one tensor at a time. Every file tensor is checked against the config when opened.
/// </summary>
public sealed class CheckpointWeights : IWeightSource
{
    private readonly Checkpoint _checkpoint;
    private readonly GgufFile? _gguf;
    private readonly Dictionary<string, List<FileTensor>> _byCanonical;
    private readonly Dictionary<string, WeightSpec> _specs;
    private readonly object _gate = new();
    private string? _currentName;
    private float[] _current = [];

    private CheckpointWeights(
        string path, Checkpoint checkpoint, GgufFile? gguf, IReadOnlyList<FileTensor> files, DecoderConfig c, string cacheKey)
    {
        Description = path;
        _checkpoint = checkpoint;
        _gguf = gguf;
        CacheKey = cacheKey;
        _specs = WeightLayout.For(c).ToDictionary(s => s.Name, StringComparer.Ordinal);
        _byCanonical = files.GroupBy(f => f.Canonical).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
    }

    public string Description { get; }

    public string CacheKey { get; }

    /// <summary>Opens and checks the checkpoint a config was read from (<see cref="ModelFiles.Load"/>).</summary>
    public static CheckpointWeights Open(DecoderConfig c, string path)
    {
        bool gguf = File.Exists(path);
        GgufFile? file = null;
        Checkpoint checkpoint;
        CheckpointFormat format = c.OnnxGraph is not null ? CheckpointFormat.Onnx
            : gguf ? CheckpointFormat.Gguf : CheckpointFormat.HuggingFace;
        if (c.OnnxGraph is { } graph)
        {
            checkpoint = OnnxInitializers.OpenWeights(c, graph);
        }
        else if (gguf)
        {
            file = Gguf.Open(path);
            checkpoint = file.Tensors;
        }
        else
        {
            checkpoint = SafeTensors.OpenFolder(path);
        }

        try
        {
            string prefix = checkpoint.Tensors.ContainsKey("transformer.wte.weight") ? "transformer." : "";
            IReadOnlyList<FileTensor> files = CheckpointLayout.For(c, format, prefix);
            Check(c, checkpoint, files, path);
            return new CheckpointWeights(path, checkpoint, file, files, c, "f" + ModelFiles.WeightsFingerprint(path));
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>Element types of the checkpoint's tensors.</summary>
    public IReadOnlyList<TensorElement> Elements => _checkpoint.Elements;

    /// <summary>Element types of the file tensors of the matrix products (every 2-D weight but the embedding tables).</summary>
    public IEnumerable<TensorElement> MatrixElements() => MatrixTensors().Select(t => t.Element);

    /// <summary>The file tensors of the matrix products.</summary>
    public IEnumerable<CheckpointTensor> MatrixTensors() => _byCanonical
        .Where(kv => _specs[kv.Key].Shape.Length == 2 && kv.Key is not (WeightLayout.TokenEmbedding or WeightLayout.PositionEmbedding))
        .SelectMany(kv => kv.Value)
        .Select(f => _checkpoint.Tensors[f.Name]);

    public void Fill(WeightSpec spec, Span<float> dest, long start = 0)
    {
        lock (_gate)
        {
            if (_currentName != spec.Name)
            {
                _current = Build(spec);
                _currentName = spec.Name;
            }

            _current.AsSpan((int)start, dest.Length).CopyTo(dest);
        }
    }

    public float[] Generate(WeightSpec spec)
    {
        var values = new float[spec.Elements];
        Fill(spec, values);
        return values;
    }

    public void FillParallel(WeightSpec spec, Span<float> dest, long start = 0) => Fill(spec, dest, start);

    public unsafe void FillParallel(WeightSpec spec, IntPtr dest, long count) =>
        Fill(spec, new Span<float>((void*)dest, checked((int)count)));

    /// <summary>
    /// A GGUF matrix's blocks mapped into MatMulNBits as <see cref="MappingOf"/> says for each file tensor's type, in pieces of
    /// consecutive outputs (one per run of file tensors that map to the same layout: q, k and v of one type make one piece; a
    /// q6_K v beside q4_K q and k is a piece of its own). Each output's row of blocks comes from its file tensor (llama.cpp's
    /// q/k row permutation undone by moving whole rows). Null where no file tensor of the matrix has blocks to map: the caller
    /// quantizes the fp32 values.
    /// </summary>
    public IReadOnlyList<QuantizedMatrix>? QuantizedBlocks(WeightSpec spec, bool outputsFirst, WeightQuantization q)
    {
        if (!_byCanonical.TryGetValue(spec.Name, out List<FileTensor>? parts) || _specs[spec.Name] is not { Shape.Length: 2 } canonical
            || parts.All(p => MappingOf(_checkpoint.Tensors[p.Name].Element, q) == BlockMapping.Quantize))
        {
            return null;
        }

        bool rowsAsStored = outputsFirst
            ? parts is [{ Transpose: false, Offset: 0 } whole] && whole.Width == canonical.Shape[1]
            : parts.All(p => p.Transpose);
        if (!rowsAsStored)
        {
            return null;
        }

        int k = (int)canonical.Shape[outputsFirst ? 1 : 0];
        var pieces = new List<QuantizedMatrix>();
        foreach (FileTensor f in parts.OrderBy(p => p.Offset))
        {
            CheckpointTensor t = _checkpoint.Tensors[f.Name];
            TensorElement element = t.Element;
            int rows = outputsFirst ? (int)canonical.Shape[0] : (int)f.Width;
            long rowBytes = element.ByteCount(k);
            byte[] file = _checkpoint.ReadBytes(t);
            var all = new byte[rows * rowBytes];
            long headDim = f.RopeHeads > 0 ? f.Width / f.RopeHeads : 0, half = headDim / 2;
            for (long j = 0; j < rows; j++)
            {
                // Canonical (Hugging Face) row h*hd + a*half + b is llama.cpp's row h*hd + 2b + a.
                long fileRow = headDim == 0 ? j : (j / headDim * headDim) + (2 * (j % headDim % half)) + (j % headDim / half);
                file.AsSpan((int)(fileRow * rowBytes), (int)rowBytes).CopyTo(all.AsSpan((int)(j * rowBytes), (int)rowBytes));
            }

            QuantizedMatrix m = Map(element, all, rows, k, q);
            if (pieces.Count > 0 && QuantizedMatrix.SameLayout(pieces[^1], m))
            {
                pieces[^1] = QuantizedMatrix.Join(pieces[^1], m);
            }
            else
            {
                pieces.Add(m);
            }
        }

        return pieces;
    }

    /// <summary>
    /// How a file matrix of type <paramref name="e"/> reaches MatMulNBits under <paramref name="q"/> (at block 32); fp8 weights are
    /// always quantized from the file's values (no GGUF block is fp8).
    /// </summary>
    public static BlockMapping MappingOf(TensorElement e, WeightQuantization q) => (e, q) switch
    {
        (_, { Float8: true }) => BlockMapping.Quantize,
        (_, { Block: not WeightQuantization.DefaultBlock }) => BlockMapping.Quantize,
        (TensorElement.Q4Zero, { Bits: 4, ZeroPoints: false }) => BlockMapping.Repack,
        (TensorElement.Q8Zero, { Bits: 8, ZeroPoints: false }) => BlockMapping.Repack,
        (TensorElement.Q4K, { Bits: 4 }) => BlockMapping.Q4KZeroPoints,
        (TensorElement.Q6K, _) => BlockMapping.Q6KBlocks,
        _ => BlockMapping.Quantize,
    };

    /// <summary>Bytes per weight of a file matrix of type <paramref name="e"/> in MatMulNBits (scales of scaleBits).</summary>
    public static double BytesPerWeight(TensorElement e, WeightQuantization q, int scaleBits) => MappingOf(e, q) switch
    {
        BlockMapping.Q4KZeroPoints => HardwareSpec.QuantizedBytesPerElement(4, KQuants.Q4KSub, true, scaleBits),
        BlockMapping.Q6KBlocks => HardwareSpec.QuantizedBytesPerElement(8, KQuants.Q6KSub, false, scaleBits),
        _ => q.BytesPerWeight(scaleBits),
    };

    /// <summary>What happens to a file matrix of type <paramref name="e"/> under <paramref name="q"/>, in words.</summary>
    public static string Describe(TensorElement e, WeightQuantization q) => MappingOf(e, q) switch
    {
        BlockMapping.Repack => $"GGUF {e.Name()} blocks repacked into MatMulNBits as they are (no dequantize/requantize)",
        BlockMapping.Q4KZeroPoints => "GGUF q4_K blocks requantized once at load into 4-bit MatMulNBits blocks of 32 with zero "
            + "points (their 4-bit values and sub-block scales d x sc kept, their mins dmin x m rounded to whole zero points; "
            + "these matrices have zero points whatever the run's own setting says)",
        BlockMapping.Q6KBlocks => "GGUF q6_K blocks mapped into 8-bit MatMulNBits blocks of 16 as they are (scale d x sc, value q - 32; no "
            + "dequantize/requantize; these matrices are 8-bit blocks of 16 whatever the run's own bits and block say)",
        _ when e.IsQuantized() => $"{e.Name()} weights dequantized and requantized once at load ({q.Name}, block {q.Block})",
        _ => $"{e.Name()} weights quantized by the harness at load",
    };

    private static QuantizedMatrix Map(TensorElement e, byte[] rows, int n, int k, WeightQuantization q) => MappingOf(e, q) switch
    {
        BlockMapping.Repack => BlockQuantizer.FromGgufBlocks(rows, n, k, e, Describe(e, q)),
        BlockMapping.Q4KZeroPoints => KQuants.Q4KToNBits(rows, n, k, Describe(e, q)),
        BlockMapping.Q6KBlocks => KQuants.Q6KToNBits(rows, n, k, Describe(e, q)),
        _ => BlockQuantizer.Quantize(Dequantize(e, rows, (long)n * k), n, k, q) with { Source = Describe(e, q) },
    };

    private static float[] Dequantize(TensorElement e, byte[] bytes, long count)
    {
        var values = new float[count];
        e.ToFloat(bytes, values);
        return values;
    }

    public void Dispose()
    {
        _current = [];
        _currentName = null;
        if (_gguf is not null)
        {
            _gguf.Dispose();
        }
        else
        {
            _checkpoint.Dispose();
        }
    }

    private float[] Build(WeightSpec spec)
    {
        if (!_byCanonical.TryGetValue(spec.Name, out List<FileTensor>? parts))
        {
            throw new InvalidOperationException($"Weight {spec.Name} has no tensor in {Description}.");
        }

        WeightSpec canonical = _specs[spec.Name];
        _current = [];
        var values = new float[canonical.Elements];
        foreach (FileTensor f in parts)
        {
            CheckpointLayout.Place(f, canonical, _checkpoint.Read(_checkpoint.Tensors[f.Name]), values);
        }

        return values;
    }

    private static void Check(DecoderConfig c, Checkpoint checkpoint, IReadOnlyList<FileTensor> files, string path)
    {
        Dictionary<string, WeightSpec> specs = WeightLayout.For(c).ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (FileTensor f in files)
        {
            if (!checkpoint.Tensors.TryGetValue(f.Name, out CheckpointTensor? t))
            {
                throw HarnessException.BadInput($"Model '{path}' has no tensor {f.Name}, which its config's "
                    + $"{c.Architecture.ToString().ToLowerInvariant()} shape needs.");
            }

            long[] expected = CheckpointLayout.ShapeOf(f, specs[f.Canonical]);
            if (!t.Shape.SequenceEqual(expected))
            {
                throw HarnessException.BadInput(
                    $"Model file '{t.File}': tensor {f.Name} has shape [{string.Join(",", t.Shape)}], the config says "
                        + $"[{string.Join(",", expected)}].");
            }
        }
    }
}
