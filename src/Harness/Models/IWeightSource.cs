namespace Harness.Models;

/// <summary>
/// Where a decoder's weight values come from: the one seam both backends ask for each named tensor of
/// the canonical layout (<see cref="WeightLayout"/>). <see cref="WeightGenerator"/> draws them from a
/// seed; <see cref="Formats.CheckpointWeights"/> reads them from a Hugging Face folder, a GGUF file or an
/// exported ONNX folder's initializers.
/// </summary>
public interface IWeightSource : IDisposable
{
    /// <summary>The weights in words, for a graph's doc string and logs ("seed 1234", "/m/model.gguf").</summary>
    string Description { get; }

    /// <summary>What keys a cache of converted models: the seed ("w1234") or the files' fingerprint ("f0a1b2...").</summary>
    string CacheKey { get; }

    /// <summary>Writes elements [start, start + dest.Length) of <paramref name="spec"/> into dest (fp32).</summary>
    void Fill(WeightSpec spec, Span<float> dest, long start = 0);

    /// <summary>The whole tensor (for tensors that fit a managed array).</summary>
    float[] Generate(WeightSpec spec);

    /// <summary>As <see cref="Fill"/>, using every core where that pays.</summary>
    void FillParallel(WeightSpec spec, Span<float> dest, long start = 0);

    /// <summary>Fills native memory of <paramref name="count"/> floats (e.g. a tensor's storage).</summary>
    void FillParallel(WeightSpec spec, IntPtr dest, long count);

    /// <summary>
    /// The matrix <paramref name="spec"/> already quantized from the blocks a file stores (for <paramref name="q"/>, in
    /// the layouts the file's types map to: <see cref="Formats.CheckpointWeights.MappingOf"/>), as MatMulNBits' B: [N, K]
    /// with N the canonical columns, or with <paramref name="outputsFirst"/> the canonical rows (the tied embedding as
    /// LM head); in pieces of consecutive outputs where parts of the matrix map to different layouts. Null where the
    /// source has no such blocks: the caller quantizes the fp32 values.
    /// </summary>
    IReadOnlyList<Formats.QuantizedMatrix>? QuantizedBlocks(WeightSpec spec, bool outputsFirst, Backends.WeightQuantization q) => null;
}

/// <summary>
/// Opens a decoder's weights: the files its config was read from (a Hugging Face folder, a GGUF file, or the
/// initializers of an ONNX folder that <c>harness export</c> wrote), else the seeded generator.
/// </summary>
public static class ModelWeights
{
    public static IWeightSource Open(Backends.DecoderConfig config, int weightSeed) =>
        config.WeightsPath is { } path
            ? Formats.CheckpointWeights.Open(config, path)
            : new WeightGenerator(weightSeed, config.Layers);
}
