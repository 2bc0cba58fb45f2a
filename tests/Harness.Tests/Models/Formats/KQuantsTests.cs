using Harness.Backends;
using Harness.Models;
using Harness.Models.Formats;

namespace Harness.Tests.Models.Formats;

/// <summary>
/// llama.cpp's q4_K and q6_K blocks: the quantizer's blocks decode (by the reader's dequantizer, written from ggml's) to the
/// values the quantizer says they hold, a q4_K file written by export reads back as those values, the blocks map into
/// MatMulNBits (q6_K exactly, q4_K within half a step), a q4_K_M export mixes q4_K and q6_K as llama.cpp's recipe does, the
/// type a file's matrices run as without --dtype, and a q4_K tensor whose rows are not whole blocks is refused.
/// </summary>
public sealed class KQuantsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-kquants-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>hidden 256: the k-quants' rows are whole blocks of 256.</summary>
    public static DecoderConfig Tiny(int layers = 2) => ModelCatalog.Parse($$"""
        { "name": "tiny-kquants", "architecture": "llama", "hidden": 256, "intermediate": 512, "layers": {{layers}},
          "heads": 4, "kv_heads": 2, "vocab": 256, "max_positions": 64 }
        """);

    private static float[] Values(int count, int seed)
    {
        var rng = new Random(seed);
        // Mixed signs and sizes, one sub-block all positive and one all zero, to reach the min and scale edge cases.
        float[] x = Enumerable.Range(0, count).Select(_ => (float)((rng.NextDouble() - 0.4) * rng.NextDouble() * 0.2)).ToArray();
        for (int i = 32; i < 64; i++)
        {
            x[i] = Math.Abs(x[i]);
        }

        Array.Clear(x, 64, 16);
        return x;
    }

    [Theory]
    [InlineData(TensorElement.Q4K)]
    [InlineData(TensorElement.Q6K)]
    public void Blocks_decode_to_the_quantizers_reconstruction_within_half_a_step(TensorElement element)
    {
        float[] x = Values(4 * KQuants.Block, seed: 5);
        var block = new byte[element.BlockBytes()];
        var expected = new float[KQuants.Block];
        var decoded = new float[KQuants.Block];
        for (int b = 0; b < 4; b++)
        {
            ReadOnlySpan<float> v = x.AsSpan(b * KQuants.Block, KQuants.Block);
            if (element == TensorElement.Q4K)
            {
                KQuants.EncodeQ4K(v, block, expected);
            }
            else
            {
                KQuants.EncodeQ6K(v, block, expected);
            }

            element.ToFloat(block, decoded);
            Assert.Equal(expected, decoded);
            // A value is off by half its sub-block's step (range / 15 for q4_K, max|x| / 31 for q6_K), plus what rounding the
            // sub-block's scale to a multiple of d (up to 16 d over the 15 or 31 steps) and its min to a multiple of dmin costs.
            bool q4 = element == TensorElement.Q4K;
            float d = (float)BitConverter.ToHalf(block, q4 ? 0 : 208), dmin = q4 ? (float)BitConverter.ToHalf(block, 2) : 0;
            int sub = q4 ? KQuants.Q4KSub : KQuants.Q6KSub;
            for (int j = 0; j < KQuants.Block / sub; j++)
            {
                ReadOnlySpan<float> s = v.Slice(j * sub, sub);
                float step = q4 ? (Math.Max(0, Max(s)) - Math.Min(0, Min(s))) / 15 : Math.Max(Max(s), -Min(s)) / 31;
                double bound = (0.5 * step) + (16 * d) + dmin + 1e-6;
                for (int i = j * sub; i < (j + 1) * sub; i++)
                {
                    Assert.True(Math.Abs(decoded[i] - v[i]) <= bound, $"block {b} value {i}: {decoded[i]} for {v[i]} (bound {bound})");
                }
            }
        }

        Assert.All(x.AsSpan(64, 16).ToArray(), v => Assert.Equal(0, v));
    }

    /// <summary>
    /// export --dtype q4_K: every matrix (and the embedding) in q4_K blocks, file type 14 (llama.cpp's q4_K_S), read back as
    /// exactly what the quantizer reconstructs from the seeded weights.
    /// </summary>
    [Fact]
    public void Q4K_export_reads_back_as_the_quantizers_reconstruction()
    {
        DecoderConfig c = Tiny();
        string path = Path.Combine(_dir, "tiny-q4k.gguf");
        using var gen = new WeightGenerator(3, c.Layers);
        ModelExport.Write(c, TensorDType.Float32, ExportFormat.Gguf, path, gen, ggufMatrices: TensorElement.Q4K);
        using (GgufFile file = Gguf.Open(path))
        {
            Assert.Equal(14L, file.Integer("general.file_type"));
            Assert.All(file.Tensors.Tensors.Values.Where(t => t.Shape.Length == 2), t => Assert.Equal(TensorElement.Q4K, t.Element));
        }

        WeightSpec embedding = WeightLayout.For(c).Single(s => s.Name == WeightLayout.TokenEmbedding);
        float[] seeded = gen.Generate(embedding), expected = new float[seeded.Length];
        var block = new byte[TensorElement.Q4K.BlockBytes()];
        for (int b = 0; b < seeded.Length / KQuants.Block; b++)
        {
            int at = b * KQuants.Block;
            KQuants.EncodeQ4K(seeded.AsSpan(at, KQuants.Block), block, expected.AsSpan(at, KQuants.Block));
        }

        DecoderConfig fromFile = ModelCatalog.Load(path);
        using CheckpointWeights weights = CheckpointWeights.Open(fromFile, path);
        Assert.Equal(expected, weights.Generate(embedding));
        var int4 = new WeightQuantization(4, 32, false, 4);
        Assert.Contains("q4_K blocks requantized once at load", ModelFiles.QuantizationSource(fromFile, int4));
        // 4 bits, an fp32 scale and a 4-bit zero point per 32: the bytes MBU counts, not symmetric int4's 5 bits.
        Dictionary<string, object?> details = GenerateSettings.DescribeModel(fromFile, TensorDType.Float32, 1, int4);
        Assert.Equal(5.125, details[Harness.Metrics.ConfigKeys.QuantBitsPerWeight]);
    }

    /// <summary>
    /// q6_K into 8-bit blocks of 16: each weight as MatMulNBits reads it equals the file's value; q4_K into 4-bit blocks of 32
    /// with zero points: off by at most half the sub-block's step (its min rounded to a whole zero point), exactly equal
    /// where the min is 0 (the all-positive sub-block).
    /// </summary>
    [Fact]
    public void K_quant_rows_map_into_MatMulNBits_exactly_for_q6_K_and_within_half_a_step_for_q4_K()
    {
        const int n = 3, k = 2 * KQuants.Block;
        float[] x = Values(n * k, seed: 9);
        foreach (TensorElement element in new[] { TensorElement.Q6K, TensorElement.Q4K })
        {
            var bytes = new byte[element.ByteCount(n * k)];
            element.FromFloat(x, bytes);
            var values = new float[n * k];
            element.ToFloat(bytes, values);
            QuantizedMatrix m = element == TensorElement.Q6K
                ? KQuants.Q6KToNBits(bytes, n, k, "q6_K")
                : KQuants.Q4KToNBits(bytes, n, k, "q4_K");
            Assert.Equal((element == TensorElement.Q6K ? 8 : 4, element == TensorElement.Q6K ? 16 : 32), (m.Bits, m.Block));
            Assert.Equal(element == TensorElement.Q4K, m.ZeroPoints is not null);
            for (int row = 0; row < n; row++)
            {
                for (int i = 0; i < k; i++)
                {
                    float expected = values[(row * k) + i], actual = m.Dequantize(row, i);
                    float step = Math.Abs(m.Scales[(row * m.BlocksPerRow) + (i / m.Block)]);
                    bool positive = row == 0 && i is >= 32 and < 64;
                    float bound = element == TensorElement.Q6K || positive ? 1e-6f : (step / 2) + 1e-6f;
                    Assert.True(Math.Abs(actual - expected) <= bound, $"{element.Name()} row {row} value {i}: {actual} for {expected}");
                }
            }
        }
    }

    /// <summary>q4_K_M: output.weight, and attn_v / ffn_down of the layers llama.cpp gives more bits (of 2: layer 1), in q6_K.</summary>
    [Fact]
    public void Q4K_M_export_puts_q6_K_where_llama_cpp_does()
    {
        DecoderConfig c = Tiny();
        string path = Path.Combine(_dir, "tiny-q4km.gguf");
        using (var gen = new WeightGenerator(3, c.Layers))
        {
            ModelExport.Write(c, TensorDType.Float32, ExportFormat.Gguf, path, gen, ggufMatrices: TensorElement.Q4K, q4KMedium: true);
        }

        using GgufFile file = Gguf.Open(path);
        Assert.Equal(15L, file.Integer("general.file_type"));
        string[] q6 = ["output.weight", "blk.1.attn_v.weight", "blk.1.ffn_down.weight"];
        foreach (CheckpointTensor t in file.Tensors.Tensors.Values.Where(t => t.Shape.Length == 2))
        {
            Assert.Equal(q6.Contains(t.Name) ? TensorElement.Q6K : TensorElement.Q4K, t.Element);
        }

        var settings = new Dictionary<string, string>();
        Assert.Equal(4, ModelFiles.StoredQuantization(ModelCatalog.Load(path), settings)?.Bits);
        string words = ModelFiles.QuantizationSource(ModelCatalog.Load(path), new WeightQuantization(4, 32, false, 4));
        Assert.Contains("q4_K matrices: GGUF q4_K blocks requantized once at load", words);
        Assert.Contains("q6_K matrices: GGUF q6_K blocks mapped into 8-bit MatMulNBits blocks of 16 as they are", words);
    }

    /// <summary>Without --dtype: q4_0 and q4_K files int4, q8_0 and q6_K int8 (as stored), float files and seeded shapes none.</summary>
    [Theory]
    [InlineData("q4_0", 4)]
    [InlineData("q4_K", 4)]
    [InlineData("q8_0", 8)]
    [InlineData("q6_K", 8)]
    [InlineData("fp32", 0)]
    public void Without_dtype_a_files_quantized_matrices_run_as_stored(string dtype, int bits)
    {
        DecoderConfig c = Tiny(layers: 1);
        string path = Path.Combine(_dir, $"tiny-{dtype}.gguf");
        using (var gen = new WeightGenerator(3, c.Layers))
        {
            ModelExport.Write(c, TensorDType.Float32, ExportFormat.Gguf, path, gen, ggufMatrices: ModelExport.GgufBlocks(dtype));
        }

        var settings = new Dictionary<string, string> { [Harness.Metrics.ConfigKeys.AccuracyLevel] = "0" };
        WeightQuantization? q = ModelFiles.StoredQuantization(ModelCatalog.Load(path), settings);
        Assert.Equal(bits, q?.Bits ?? 0);
        if (q is not null)
        {
            Assert.True(q.AsStored);
            Assert.Equal((32, false, 0), (q.Block, q.ZeroPoints, q.AccuracyLevel));
        }

        Assert.Null(ModelFiles.StoredQuantization(c, settings));
    }

    /// <summary>A q4_K tensor whose rows are 128 values (not whole blocks of 256) is bad input naming the file and the tensor.</summary>
    [Fact]
    public void A_q4_K_tensor_whose_rows_are_not_whole_blocks_is_refused()
    {
        string path = Path.Combine(_dir, "odd.gguf");
        float[] values = Values(256, seed: 1);
        Gguf.Write(path, [new("general.architecture", "llama")],
            [new TensorToWrite("blk.0.attn_q.weight", [2, 128], TensorElement.Q4K, () => values)]);
        HarnessException e = Assert.Throws<HarnessException>(() => Gguf.Open(path));
        Assert.Equal(2, e.ExitCode);
        Assert.Equal($"Model file '{path}': tensor blk.0.attn_q.weight is q4_K with rows of 128 values, which are not whole blocks of 256.",
            e.Message);
    }

    private static float Max(ReadOnlySpan<float> s)
    {
        float m = float.MinValue;
        foreach (float v in s)
        {
            m = Math.Max(m, v);
        }

        return m;
    }

    private static float Min(ReadOnlySpan<float> s)
    {
        float m = float.MaxValue;
        foreach (float v in s)
        {
            m = Math.Min(m, v);
        }

        return m;
    }
}
