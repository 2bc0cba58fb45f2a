using System.Globalization;
using Harness.Hardware.Catalog;
using Harness.Metrics;

namespace Harness.Backends;

/// <summary>
/// Weight-only quantization of a decoder's matrices (<c>--dtype int8|int4|fp8</c>): <see cref="Bits"/> per
/// weight in blocks of <see cref="Block"/> along each matrix's input dimension, one scale per block
/// (symmetric: value = (q - 2^(bits-1)) x scale) or a scale and a zero point per block
/// (<see cref="ZeroPoints"/>: value = (q - zp) x scale). Activations, norms and the KV cache stay in the
/// run's float type; the token embedding stays float (it is gathered, not multiplied), and the LM head is quantized.
/// <see cref="AccuracyLevel"/> is ONNX Runtime's MatMulNBits attribute: the element type its products
/// compute in (0 or 1: fp32; 4: the activations quantized to int8 per block, integer dot products).
/// <see cref="Float8"/> (<c>--dtype fp8</c>): each weight an fp8 E4M3 value, one fp32 scale per block (block 128 by
/// default), value = e4m3 x scale, for ONNX Runtime's CUDA <c>MatMulBlockQuantizedFp8Weight</c> (fp16 or bf16
/// activations; ONNX Runtime has no CPU kernel for it).
/// </summary>
public sealed record WeightQuantization(int Bits, int Block, bool ZeroPoints, int AccuracyLevel)
{
    public const int DefaultBlock = 32;

    /// <summary>fp8's block without <c>--set quant_block</c>: MatMulBlockQuantizedFp8Weight's default, and DeepSeek-V3's and
    /// the fp8 checkpoints' 128 along the input dimension (8.25 bits a weight with fp32 scales).</summary>
    public const int Float8DefaultBlock = 128;

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

    /// <summary>fp8 E4M3 weights with fp32 block scales (MatMulBlockQuantizedFp8Weight) rather than integers (MatMulNBits).</summary>
    public bool Float8 { get; init; }

    /// <summary>
    /// fp8 on the CPU provider, which has no kernel for it: each matrix's fp8 values times their scales are widened to the
    /// graph's float type when the graph is built, so that the products see exactly fp8's weights. For measuring fp8's
    /// accuracy on a machine without a card (QuantAccuracy); never for speed: a CPU run of <c>--dtype fp8</c> is refused.
    /// </summary>
    public bool Widened { get; init; }

    /// <summary>
    /// Chosen without <c>--dtype</c>: a GGUF file's quantized matrices run as stored, as llama.cpp runs them
    /// (<c>DecoderOptions.Quantization</c>); false when <c>--dtype int8|int4</c> asked for it.
    /// </summary>
    public bool AsStored { get; init; }

    /// <summary>"int8", "int4" or "fp8": the name <c>--dtype</c> takes and the result's dtype says.</summary>
    public string Name => Float8 ? "fp8" : Bits == 4 ? "int4" : "int8";

    /// <summary>Whether a <c>--dtype</c> names a weight-only quantization (int8, int4, fp8) rather than a float type.</summary>
    public static bool Names(string? dtype) => dtype?.Trim().ToLowerInvariant() is "int8" or "int4" or "fp8";

    /// <summary>The quantization a <c>--dtype</c> names (int8, int4, fp8) with the <c>--set</c> keys; null for a float type.</summary>
    public static WeightQuantization? Parse(string? dtype, IReadOnlyDictionary<string, string> settings) =>
        dtype?.Trim().ToLowerInvariant() switch
        {
            "int8" => From(8, settings),
            "int4" => From(4, settings),
            "fp8" => Fp8(settings),
            _ => null,
        };

    /// <summary>
    /// <c>--dtype fp8</c>: block 128 unless <c>--set quant_block</c> says (a multiple of 16, MatMulBlockQuantizedFp8Weight's
    /// decode kernel's); symmetric by construction and without an accuracy level, so those keys are refused by name.
    /// </summary>
    public static WeightQuantization Fp8(IReadOnlyDictionary<string, string> settings)
    {
        if (settings.ContainsKey(ZeroPointsKey.Name) || settings.ContainsKey(AccuracyLevelKey.Name))
        {
            throw HarnessException.BadInput($"--dtype fp8 takes no --set {ZeroPointsKey.Name} or {AccuracyLevelKey.Name}: fp8 weights are "
                + "E4M3 values times one scale per block, multiplied in the activations' fp16 or bf16 "
                + "(those keys are MatMulNBits', int8/int4).");
        }

        int block = settings.ContainsKey(BlockKey.Name) ? BlockKey.Get(settings) : Float8DefaultBlock;
        CheckPowerOfTwo(block);
        return new WeightQuantization(8, block, ZeroPoints: false, AccuracyLevel: 0) { Float8 = true };
    }

    /// <summary>The quantization <c>--dtype int8|int4</c> and the <c>--set</c> keys ask for (block, zero points, accuracy level).</summary>
    public static WeightQuantization From(int bits, IReadOnlyDictionary<string, string> settings)
    {
        int block = BlockKey.Get(settings);
        CheckPowerOfTwo(block);
        return new WeightQuantization(bits, block, ZeroPointsKey.Get(settings), AccuracyLevelKey.Get(settings));
    }

    private static void CheckPowerOfTwo(int block)
    {
        if ((block & (block - 1)) != 0)
        {
            throw HarnessException.BadInput(
                $"--set {BlockKey.Name}={block} must be a power of two from 16 to 256 (MatMulNBits' block sizes).");
        }
    }

    /// <summary>
    /// Refuses (exit 2, before any device is touched) int8/int4/fp8 weights for a workload that does not take them:
    /// one that does declares <see cref="BlockKey"/> among its settings (onnx's decoders; not TorchSharp's,
    /// which has no weight-only int8/int4 matrix product, nor gemm or copy).
    /// </summary>
    public static void CheckSupported(WeightQuantization? q, SettingsSchema schema, string what)
    {
        if (q is not null && !schema.Keys.Contains(BlockKey))
        {
            throw HarnessException.BadInput($"--dtype {q.Name} (weight-only quantized weights) is not supported by {what}, which takes "
                + "fp32, fp16 or bf16; int8/int4 decoders run on onnx:cpu and onnx:cuda (MatMulNBits), fp8 on onnx:cuda.");
        }
    }

    /// <summary>
    /// Bytes per quantized weight with scales of <paramref name="scaleBits"/> (the graph's float type; fp8's scales are
    /// fp32 whatever it is); <see cref="Widened"/> weights are the graph's float type itself.
    /// </summary>
    public double BytesPerWeight(int scaleBits = 16) => Widened
        ? scaleBits / 8.0
        : HardwareSpec.QuantizedBytesPerElement(Bits, Block, ZeroPoints, Float8 ? 32 : scaleBits);

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

    /// <summary>"int4, block 32, symmetric, accuracy_level 4"; "fp8 e4m3, block 128, fp32 scales".</summary>
    public string Describe() => Float8
        ? string.Create(CultureInfo.InvariantCulture,
            $"fp8 e4m3, block {Block}, fp32 scales{(Widened ? ", widened to the graph's float type at load (no CPU kernel)" : "")}")
        : string.Create(CultureInfo.InvariantCulture,
            $"{Name}, block {Block}, {(ZeroPoints ? "zero points" : "symmetric")}, accuracy_level {AccuracyLevel}");

    /// <summary>The ONNX Runtime operator its matrix products run through.</summary>
    public string Operator => (Float8, Widened) switch
    {
        (true, true) => "MatMul of the widened fp8 values",
        (true, false) => "com.microsoft MatMulBlockQuantizedFp8Weight",
        _ => "com.microsoft MatMulNBits",
    };
}
