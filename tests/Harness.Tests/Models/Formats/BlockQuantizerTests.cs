using System.Buffers.Binary;
using Harness.Backends;
using Harness.Hardware.Catalog;
using Harness.Models;
using Harness.Models.Formats;

namespace Harness.Tests.Models.Formats;

/// <summary>
/// The block quantizer on blocks computed by hand, its MatMulNBits packing, llama.cpp's q4_0/q8_0 block
/// layouts written to GGUF and read back byte for byte, and the blocks of a file mapped into MatMulNBits
/// equal to the harness's own quantization of the same weights.
/// </summary>
public sealed class BlockQuantizerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-blocks-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>x_i = (i - 16) / 4: the largest magnitude is x_0 = -4, so d = -4 / -8 = 0.5, q_i = min(15, trunc(i / 2 + 0.5)).</summary>
    [Fact]
    public void Int4_symmetric_block_matches_the_hand_computed_one()
    {
        float[] x = Enumerable.Range(0, 32).Select(i => (i - 16) / 4f).ToArray();
        QuantizedMatrix m = BlockQuantizer.Quantize(x, 1, 32, new WeightQuantization(4, 32, false, 4));
        Assert.Equal([0.5f], m.Scales);
        Assert.Null(m.ZeroPoints);
        int[] q = Enumerable.Range(0, 32).Select(i => Math.Min(15, (int)((i / 2.0) + 0.5))).ToArray();
        Assert.Equal(0, q[0]);
        Assert.Equal(1, q[1]);
        Assert.Equal(15, q[31]);
        // MatMulNBits pairs neighbours: byte j = q[2j] | q[2j + 1] << 4.
        Assert.Equal(Enumerable.Range(0, 16).Select(j => (byte)(q[2 * j] | (q[(2 * j) + 1] << 4))), m.Data);
        Assert.Equal(0x10, m.Data[0]);
        Assert.Equal(0x21, m.Data[1]);
        for (int i = 0; i < 32; i++)
        {
            Assert.Equal((q[i] - 8) * 0.5f, m.Dequantize(0, i));
            Assert.True(Math.Abs(m.Dequantize(0, i) - x[i]) <= 0.25f + 1e-6f, $"value {i}: {m.Dequantize(0, i)} for {x[i]}");
        }
    }

    /// <summary>x_i = (i - 16) / 10: amax = 1.6, d = 1.6 / 127, q = round(x / d), stored as q + 128.</summary>
    [Fact]
    public void Int8_symmetric_block_matches_the_hand_computed_one()
    {
        float[] x = Enumerable.Range(0, 32).Select(i => (i - 16) / 10f).ToArray();
        QuantizedMatrix m = BlockQuantizer.Quantize(x, 1, 32, new WeightQuantization(8, 32, false, 4));
        float d = 1.6f / 127;
        Assert.Equal((float)(Half)d, m.Scales[0]);
        Assert.Equal(1, m.Data[0]); // -127 + 128
        Assert.Equal(128, m.Data[16]); // 0
        Assert.Equal(128 + 119, m.Data[31]); // round(1.5 / d) = round(119.06)
        for (int i = 0; i < 32; i++)
        {
            Assert.True(Math.Abs(m.Dequantize(0, i) - x[i]) <= (m.Scales[0] / 2) + 1e-3f, $"value {i}");
        }
    }

    /// <summary>Zero points: 0 .. 3.1 gives scale 3.1 / 15 (fp16) and zero point 0; -3.1 .. 0 gives 15; packed two to a byte.</summary>
    [Fact]
    public void Zero_points_follow_each_blocks_range_and_pack_two_to_a_byte()
    {
        float[] x = [.. Enumerable.Range(0, 32).Select(i => i / 10f), .. Enumerable.Range(0, 32).Select(i => -i / 10f)];
        QuantizedMatrix m = BlockQuantizer.Quantize(x, 1, 64, new WeightQuantization(4, 32, true, 4));
        Assert.Equal((float)(Half)(3.1f / 15), m.Scales[0]);
        Assert.Equal((float)(Half)(3.1f / 15), m.Scales[1]);
        // Block 0: min 0 gives zero point 0; block 1: min -3.1 gives 15. One byte: 0 | 15 << 4.
        Assert.Equal([0xF0], m.ZeroPoints!);
        for (int i = 0; i < 64; i++)
        {
            Assert.True(Math.Abs(m.Dequantize(0, i) - x[i]) <= (m.Scales[i / 32] / 2) + 1e-3f, $"value {i}");
        }
    }

    /// <summary>llama.cpp's blocks of random weights, repacked into MatMulNBits, are byte for byte the harness's own int4/int8.</summary>
    [Theory]
    [InlineData(TensorElement.Q4Zero, 4)]
    [InlineData(TensorElement.Q8Zero, 8)]
    public void Gguf_blocks_repacked_equal_the_harness_quantization(TensorElement element, int bits)
    {
        const int n = 5, k = 96;
        var rng = new Random(5);
        float[] w = Enumerable.Range(0, n * k).Select(_ => (float)((rng.NextDouble() - 0.5) * 0.1)).ToArray();
        var blocks = new byte[element.ByteCount(n * k)];
        element.FromFloat(w, blocks);
        QuantizedMatrix fromFile = BlockQuantizer.FromGgufBlocks(blocks, n, k, element);
        QuantizedMatrix own = BlockQuantizer.Quantize(w, n, k, new WeightQuantization(bits, 32, false, 4));
        Assert.Equal(own.Data, fromFile.Data);
        Assert.Equal(own.Scales, fromFile.Scales);
        var dequantized = new float[n * k];
        element.ToFloat(blocks, dequantized);
        for (int i = 0; i < n * k; i++)
        {
            Assert.Equal(dequantized[i], fromFile.Dequantize(i / k, i % k));
        }
    }

    /// <summary>
    /// <c>export --format gguf --dtype q4_0|q8_0</c>: every matrix in llama.cpp's block layout (checked against an
    /// encoder written here from ggml's reference: q4_0 {fp16 d; qs[16], value i in qs[i]'s low nibble, i + 16 in
    /// its high one}, q8_0 {fp16 d; int8 qs[32]}), the vectors f32, the file type llama.cpp's, and the blocks read
    /// back into MatMulNBits equal to the harness's quantization of the seeded weights.
    /// </summary>
    [Theory]
    [InlineData(TensorElement.Q4Zero, 2L)]
    [InlineData(TensorElement.Q8Zero, 7L)]
    public void Gguf_export_writes_llama_cpp_blocks_byte_for_byte(TensorElement element, long fileType)
    {
        DecoderConfig c = ModelCatalog.Parse("""
            { "name": "tiny-blocks", "architecture": "llama", "hidden": 64, "intermediate": 192, "layers": 1,
              "heads": 4, "kv_heads": 2, "vocab": 256, "max_positions": 64 }
            """);
        string path = Path.Combine(_dir, $"tiny-{element.Name()}.gguf");
        using var gen = new WeightGenerator(3, c.Layers);
        ModelExport.Write(c, TensorDType.Float32, ExportFormat.Gguf, path, gen, ggufMatrices: element);
        Dictionary<string, WeightSpec> specs = WeightLayout.For(c).ToDictionary(s => s.Name);
        using GgufFile file = Gguf.Open(path);
        Assert.Equal(fileType, file.Integer("general.file_type"));
        Assert.Equal(TensorElement.F32, file.Tensors.Tensors["blk.0.attn_norm.weight"].Element);
        foreach (FileTensor f in CheckpointLayout.For(c, CheckpointFormat.Gguf).Where(f => specs[f.Canonical].Shape.Length == 2))
        {
            CheckpointTensor t = file.Tensors.Tensors[f.Name];
            Assert.Equal(element, t.Element);
            float[] values = CheckpointLayout.Extract(f, specs[f.Canonical], gen.Generate(specs[f.Canonical]));
            Assert.Equal(Reference(element, values), file.Tensors.ReadBytes(t));
        }

        using CheckpointWeights weights = CheckpointWeights.Open(ModelCatalog.Load(path), path);
        var quant = new WeightQuantization(element == TensorElement.Q4Zero ? 4 : 8, 32, false, 4);
        string[] names = [WeightLayout.Layer(0, "attn.qkv.weight"), WeightLayout.Layer(0, "mlp.down.weight"), WeightLayout.LmHead];
        foreach (string name in names)
        {
            WeightSpec spec = specs[name];
            int k = (int)spec.Shape[0], n = (int)spec.Shape[1];
            QuantizedMatrix fromFile = weights.QuantizedBlocks(spec, outputsFirst: false, quant) is [var whole]
                ? whole
                : throw new InvalidOperationException($"{name}: not one piece of blocks mapped");
            QuantizedMatrix own = BlockQuantizer.Quantize(BlockQuantizer.Transpose(gen.Generate(spec), k, n), n, k, quant);
            Assert.Equal(own.Data, fromFile.Data);
            Assert.Equal(own.Scales, fromFile.Scales);
        }

        Assert.Null(weights.QuantizedBlocks(specs[WeightLayout.LmHead], false, quant with { Block = 64 }));
    }

    [Fact]
    public void Bytes_per_weight_count_the_scales_and_zero_points()
    {
        Assert.Equal(4.5 / 8, HardwareSpec.BytesPerElement("q4_0"));
        Assert.Equal(8.5 / 8, HardwareSpec.BytesPerElement("q8_0"));
        Assert.Equal(4.5 / 8, HardwareSpec.BytesPerElement("int4"));
        Assert.Equal((4 + 0.25 + 0.0625) / 8, new WeightQuantization(4, 64, true, 4).BytesPerWeight());
        // An fp32 graph keeps its scales in fp32: int4 at block 32 is 5 bits a weight.
        Assert.Equal(5.0 / 8, DecoderCost.MatrixBytesPerWeight(TensorDType.Float32, new WeightQuantization(4, 32, false, 4)));
        Assert.Equal(4.5 / 8, DecoderCost.MatrixBytesPerWeight(TensorDType.Float16, new WeightQuantization(4, 32, false, 4)));
        DecoderConfig c = ModelCatalog.Load("llama-1b");
        var cost = new DecoderCost(c);
        var int4 = new WeightQuantization(4, 32, false, 4);
        long expected = (cost.TokenEmbeddingParams * 4) + (long)Math.Ceiling((cost.ParameterCount - cost.TokenEmbeddingParams) * 5.0 / 8);
        Assert.Equal(expected, cost.WeightBytes(TensorDType.Float32, int4));
        Assert.Equal("q4_0", Harness.Projection.Precision.Parse("q4_0", "--dtype"));
        Assert.Equal("bf16", new Harness.Projection.Precision("int4", "bf16").ComputeDtype);
    }

    /// <summary>ggml's reference encoders, written out independently of the harness's.</summary>
    private static byte[] Reference(TensorElement element, float[] x)
    {
        int size = element.BlockBytes();
        var bytes = new byte[x.Length / 32 * size];
        for (int b = 0; b < x.Length / 32; b++)
        {
            Span<byte> block = bytes.AsSpan(b * size, size);
            ReadOnlySpan<float> v = x.AsSpan(b * 32, 32);
            if (element == TensorElement.Q4Zero)
            {
                float max = 0;
                foreach (float f in v)
                {
                    if (Math.Abs(f) > Math.Abs(max))
                    {
                        max = f;
                    }
                }

                float d = max / -8, id = d != 0 ? 1 / d : 0;
                BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
                for (int j = 0; j < 16; j++)
                {
                    int lo = Math.Min(15, (int)((v[j] * id) + 8.5f)), hi = Math.Min(15, (int)((v[j + 16] * id) + 8.5f));
                    block[2 + j] = (byte)(lo | (hi << 4));
                }
            }
            else
            {
                float amax = v.ToArray().Max(f => Math.Abs(f)), d = amax / 127, id = d != 0 ? 1 / d : 0;
                BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
                for (int j = 0; j < 32; j++)
                {
                    block[2 + j] = (byte)(sbyte)MathF.Round(v[j] * id, MidpointRounding.AwayFromZero);
                }
            }
        }

        return bytes;
    }
}
