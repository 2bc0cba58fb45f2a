using System.Globalization;
using Harness.Hardware.Catalog;
using Harness.Metrics;

namespace Harness.Backends;

/// <summary>
/// Weight-only quantization of a decoder's matrices (<c>--dtype int8|int4</c>): <see cref="Bits"/> per
/// weight in blocks of <see cref="Block"/> along each matrix's input dimension, one scale per block
/// (symmetric: value = (q - 2^(bits-1)) x scale) or a scale and a zero point per block
/// (<see cref="ZeroPoints"/>: value = (q - zp) x scale). Activations, norms and the KV cache stay in the
/// run's float type; the token embedding stays float (it is gathered, not multiplied), and the LM head is quantized.
/// <see cref="AccuracyLevel"/> is ONNX Runtime's MatMulNBits attribute: the element type its products
/// compute in (0 or 1: fp32; 4: the activations quantized to int8 per block, integer dot products).
/// </summary>
public sealed record WeightQuantization(int Bits, int Block, bool ZeroPoints, int AccuracyLevel)
{
    public const int DefaultBlock = 32;

    /// <summary>
    /// int8 compute (4): on this machine's AVX-512 EPYC the fastest decode, measured side by side against 0
    /// (docs/decoders.md, "Quantized weights").
    /// </summary>
    public const int DefaultAccuracyLevel = 4;

    /// <summary><c>--set quant_block=N</c>: weights per block, a power of two from 16 to 256 dividing every input width.</summary>
    public static readonly SettingKey<int> BlockKey =
        Setting.Int(ConfigKeys.QuantBlock, DefaultBlock, 16, "int8/int4 weights: weights per quantization block (power of two)", max: 256);

    /// <summary><c>--set quant_zero_points=1</c>: a zero point per block (asymmetric) instead of symmetric blocks.</summary>
    public static readonly SettingKey<bool> ZeroPointsKey =
        Setting.Flag(ConfigKeys.QuantZeroPoints, false, "int8/int4 weights: a zero point per block (asymmetric)");

    /// <summary><c>--set accuracy_level=N</c>: MatMulNBits' compute type (0 = the graph's float, 1 fp32, 2 fp16, 3 bf16, 4 int8).</summary>
    public static readonly SettingKey<int> AccuracyLevelKey =
        Setting.Int(ConfigKeys.AccuracyLevel, DefaultAccuracyLevel, 0, "int8/int4 weights: MatMulNBits accuracy_level (4 = int8 compute)",
            max: 4);

    /// <summary>The keys above, for a backend's settings schema.</summary>
    public static readonly IReadOnlyList<SettingKey> Keys = [BlockKey, ZeroPointsKey, AccuracyLevelKey];

    /// <summary>
    /// Chosen without <c>--dtype</c>: a GGUF file's quantized matrices run as stored, as llama.cpp runs them
    /// (<c>DecoderOptions.Quantization</c>); false when <c>--dtype int8|int4</c> asked for it.
    /// </summary>
    public bool AsStored { get; init; }

    /// <summary>"int8" or "int4": the name <c>--dtype</c> takes and the result's dtype says.</summary>
    public string Name => Bits == 4 ? "int4" : "int8";

    /// <summary>The bits of a <c>--dtype</c> that names a weight-only quantization (int8, int4); null for any other.</summary>
    public static int? BitsOf(string? dtype) => dtype?.Trim().ToLowerInvariant() switch
    {
        "int8" => 8,
        "int4" => 4,
        _ => null,
    };

    /// <summary>The quantization <c>--dtype int8|int4</c> and the <c>--set</c> keys ask for (block, zero points, accuracy level).</summary>
    public static WeightQuantization From(int bits, IReadOnlyDictionary<string, string> settings)
    {
        int block = BlockKey.Get(settings);
        if ((block & (block - 1)) != 0)
        {
            throw HarnessException.BadInput(
                $"--set {BlockKey.Name}={block} must be a power of two from 16 to 256 (MatMulNBits' block sizes).");
        }

        return new WeightQuantization(bits, block, ZeroPointsKey.Get(settings), AccuracyLevelKey.Get(settings));
    }

    /// <summary>
    /// Refuses (exit 2, before any device is touched) int8/int4 weights for a workload that does not take them:
    /// one that does declares <see cref="BlockKey"/> among its settings (onnx's decoders; not TorchSharp's,
    /// which has no weight-only int8/int4 matrix product, nor gemm or copy).
    /// </summary>
    public static void CheckSupported(WeightQuantization? q, SettingsSchema schema, string what)
    {
        if (q is not null && !schema.Keys.Contains(BlockKey))
        {
            throw HarnessException.BadInput($"--dtype {q.Name} (weight-only quantized weights) is not supported by {what}, which takes "
                + "fp32, fp16 or bf16; int8/int4 decoders run on onnx:cpu and onnx:cuda (MatMulNBits).");
        }
    }

    /// <summary>Bytes per quantized weight with scales of <paramref name="scaleBits"/> (the graph's float type).</summary>
    public double BytesPerWeight(int scaleBits = 16) => HardwareSpec.QuantizedBytesPerElement(Bits, Block, ZeroPoints, scaleBits);

    /// <summary>Refuses (exit 2) a block that does not divide every matrix product's input width of <paramref name="c"/>.</summary>
    public void CheckFits(DecoderConfig c)
    {
        (string What, long K)[] widths =
        [
            ("hidden size", c.Hidden),
            ("attention width (heads x head_dim)", (long)c.Heads * c.HeadDim),
            ("intermediate size", c.Intermediate),
        ];
        foreach ((string what, long k) in widths)
        {
            if (k % Block != 0)
            {
                throw HarnessException.BadInput(
                    $"--set {BlockKey.Name}={Block} does not divide {c.Name}'s {what} ({k}); choose a block that does.");
            }
        }
    }

    /// <summary>"int4, block 32, symmetric, accuracy_level 4".</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Name}, block {Block}, {(ZeroPoints ? "zero points" : "symmetric")}, accuracy_level {AccuracyLevel}");
}
