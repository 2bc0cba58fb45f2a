using Harness.Backends;

namespace Harness.Models.Formats;

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
    public IEnumerable<TensorElement> MatrixElements() => _byCanonical
        .Where(kv => _specs[kv.Key].Shape.Length == 2 && kv.Key is not (WeightLayout.TokenEmbedding or WeightLayout.PositionEmbedding))
        .SelectMany(kv => kv.Value)
        .Select(f => _checkpoint.Tensors[f.Name].Element);

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
    /// GGUF q4_0 (for int4) or q8_0 (for int8) blocks, block 32, symmetric, mapped into MatMulNBits as they are
    /// (<see cref="BlockQuantizer.FromGgufBlocks"/>): each output's row of blocks taken from its file tensor
    /// (llama.cpp's q/k row permutation undone by moving whole rows). Null for any other case.
    /// </summary>
    public QuantizedMatrix? QuantizedBlocks(WeightSpec spec, bool outputsFirst, WeightQuantization q)
    {
        if (DirectBlocks(q) is not { } element || !_byCanonical.TryGetValue(spec.Name, out List<FileTensor>? parts)
            || parts.Any(p => _checkpoint.Tensors[p.Name].Element != element))
        {
            return null;
        }

        WeightSpec canonical = _specs[spec.Name];
        if (canonical.Shape.Length != 2)
        {
            return null;
        }

        if (outputsFirst)
        {
            return parts is [{ Transpose: false, Offset: 0 } whole] && whole.Width == canonical.Shape[1]
                ? BlockQuantizer.FromGgufBlocks(_checkpoint.ReadBytes(_checkpoint.Tensors[whole.Name]), (int)canonical.Shape[0],
                    (int)canonical.Shape[1], element)
                : null;
        }

        if (parts.Any(p => !p.Transpose))
        {
            return null;
        }

        int k = (int)canonical.Shape[0], n = (int)canonical.Shape[1];
        int rowBytes = k / element.BlockElements() * element.BlockBytes();
        var all = new byte[(long)n * rowBytes];
        foreach (FileTensor f in parts)
        {
            byte[] file = _checkpoint.ReadBytes(_checkpoint.Tensors[f.Name]);
            long headDim = f.RopeHeads > 0 ? f.Width / f.RopeHeads : 0, half = headDim / 2;
            for (long j = 0; j < f.Width; j++)
            {
                // Canonical (Hugging Face) row h*hd + a*half + b is llama.cpp's row h*hd + 2b + a.
                long fileRow = headDim == 0 ? j : (j / headDim * headDim) + (2 * (j % headDim % half)) + (j % headDim / half);
                file.AsSpan((int)(fileRow * rowBytes), rowBytes).CopyTo(all.AsSpan((int)((f.Offset + j) * rowBytes), rowBytes));
            }
        }

        return BlockQuantizer.FromGgufBlocks(all, n, k, element);
    }

    /// <summary>The GGUF block type that maps into <paramref name="q"/> as it is: q4_0 (int4), q8_0 (int8), block 32, symmetric.</summary>
    public static TensorElement? DirectBlocks(WeightQuantization q) => q is { Block: BlockQuantizer.GgufBlock, ZeroPoints: false }
        ? q.Bits == 4 ? TensorElement.Q4Zero : TensorElement.Q8Zero
        : null;

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
