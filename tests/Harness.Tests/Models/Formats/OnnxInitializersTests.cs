using System.Runtime.InteropServices;
using System.Text;
using Harness.Backends;
using Harness.Metrics;
using Harness.Models;
using Harness.Models.Formats;

namespace Harness.Tests.Models.Formats;

/// <summary>
/// The initializers of an ONNX folder laid out as <c>harness export --format onnx</c> writes it (canonical names and
/// shapes, the weights in model.onnx_data), written here by a minimal ModelProto writer so that the core's tests need
/// no ONNX writer: read back through <see cref="ModelWeights.Open"/> they are exactly the seeded weights, whether
/// stored externally, as raw_data or as packed float_data; a truncated data file, an initializer past its file's end,
/// a length that disagrees with the shape, a wrong shape and a missing initializer are each one sentence naming the
/// file (exit 2), and a graph of another exporter's names is refused by the folder and its first missing weight.
/// </summary>
public sealed class OnnxInitializersTests : IDisposable
{
    private const int Seed = 1234;
    private const int FloatType = 1, Float16Type = 10, Int64Type = 7;
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-onnx-init-").FullName;

    private enum Storage
    {
        External,
        Raw,
        FloatData,
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("tiny-llama-test", TensorDType.Float32)]
    [InlineData("tiny-gpt2-test", TensorDType.Float32)]
    [InlineData("tiny-llama-test", TensorDType.Float16)]
    public void Initializers_read_back_are_the_seeded_weights(string model, TensorDType dtype)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        string folder = WriteFolder(c, dtype);
        DecoderConfig read = ModelFiles.Load(folder);
        Assert.Equal(Path.Combine(Path.GetFullPath(folder), ModelFiles.OnnxGraphFile), read.OnnxGraph);
        Assert.Equal(c.ShapeHash(), read.ShapeHash());

        using var gen = new WeightGenerator(Seed, c.Layers);
        using (IWeightSource weights = ModelWeights.Open(read, weightSeed: 999))
        {
            Assert.Equal("f" + ModelFiles.WeightsFingerprint(read.WeightsPath!), weights.CacheKey);
            foreach (WeightSpec spec in WeightLayout.For(c))
            {
                float[] expected = gen.Generate(spec);
                if (dtype == TensorDType.Float16)
                {
                    expected = [.. expected.Select(v => (float)(Half)v)];
                }

                Assert.Equal(expected, weights.Generate(spec));
            }
        }

        Dictionary<string, object?> details = GenerateSettings.DescribeModel(read, TensorDType.Float32, 999);
        Assert.Equal("onnx", details[ConfigKeys.ModelFormat]);
        Assert.Equal(dtype == TensorDType.Float16 ? "f16" : "f32", details[ConfigKeys.ModelWeightsDtypes]);
    }

    [Fact]
    public void A_truncated_external_data_file_is_bad_input_naming_it()
    {
        string folder = WriteFolder(ModelCatalog.Load("tiny-llama-test"));
        string data = Path.Combine(Path.GetFullPath(folder), ModelFiles.OnnxDataFile);
        using (var s = new FileStream(data, FileMode.Open))
        {
            s.SetLength(s.Length - 100);
        }

        DecoderConfig read = ModelFiles.Load(folder);
        HarnessException e = Assert.Throws<HarnessException>(() => ModelWeights.Open(read, 1));
        AssertOneSentence(e, data);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_initializer_past_the_end_of_its_data_file_is_bad_input_naming_the_file()
    {
        const string Lie = "h1.attn.out.weight";
        string folder = WriteFolder(ModelCatalog.Load("tiny-llama-test"), offsetOf: name => name == Lie ? 1L << 30 : null);
        HarnessException e = Assert.Throws<HarnessException>(() => ModelWeights.Open(ModelFiles.Load(folder), 1));
        AssertOneSentence(e, Path.Combine(Path.GetFullPath(folder), ModelFiles.OnnxDataFile));
        Assert.Contains(Lie, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_external_length_that_disagrees_with_the_shape_or_a_wrong_shape_is_bad_input_naming_the_graph()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test");
        string length = WriteFolder(c, lengthOf: name => name == "h0.mlp.down.weight" ? 400 : null, name: "length");
        HarnessException e = Assert.Throws<HarnessException>(() => ModelWeights.Open(ModelFiles.Load(length), 1));
        AssertOneSentence(e, Path.Combine(Path.GetFullPath(length), ModelFiles.OnnxGraphFile));
        Assert.Contains("h0.mlp.down.weight", e.Message, StringComparison.Ordinal);

        string shape = WriteFolder(
            c, dimsOf: spec => spec.Name == "h0.attn.qkv.weight" ? [spec.Shape[1], spec.Shape[0]] : null, name: "shape");
        e = Assert.Throws<HarnessException>(() => ModelWeights.Open(ModelFiles.Load(shape), 1));
        AssertOneSentence(e, Path.Combine(Path.GetFullPath(shape), ModelFiles.OnnxGraphFile));
        Assert.Contains("h0.attn.qkv.weight has shape [128,64]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_initializer_or_another_exporters_names_are_refused_by_the_folder_and_the_first_missing_weight()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test");
        string missing = WriteFolder(c, rename: n => n == "h1.mlp.down.weight" ? null : n, name: "missing");
        HarnessException e = Assert.Throws<HarnessException>(() => ModelWeights.Open(ModelFiles.Load(missing), 1));
        AssertOneSentence(e, Path.GetFullPath(missing));
        Assert.Contains("no initializer h1.mlp.down.weight", e.Message, StringComparison.Ordinal);

        // Optimum's names: parameters by their module path, matrices by the node that reads them.
        int next = 0;
        string foreign = WriteFolder(
            c, rename: n => n == WeightLayout.TokenEmbedding ? "model.embed_tokens.weight" : $"onnx::MatMul_{next++}", name: "foreign");
        e = Assert.Throws<HarnessException>(() => ModelWeights.Open(ModelFiles.Load(foreign), 1));
        AssertOneSentence(e, Path.GetFullPath(foreign));
        Assert.Contains($"no initializer {WeightLayout.TokenEmbedding}:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_external_data_file_is_bad_input_naming_it()
    {
        string folder = WriteFolder(ModelCatalog.Load("tiny-gpt2-test"));
        string data = Path.Combine(Path.GetFullPath(folder), ModelFiles.OnnxDataFile);
        File.Delete(data);
        AssertOneSentence(Assert.Throws<HarnessException>(() => ModelWeights.Open(ModelFiles.Load(folder), 1)), data);
    }

    private static void AssertOneSentence(HarnessException e, string names)
    {
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(names, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>
    /// A folder as export --format onnx writes it: the Hugging Face folder's config and tokenizer, and a graph of
    /// initializers only (no nodes: the reader needs none) under the canonical names. Matrices in model.onnx_data
    /// (after a rotary table that is not a weight), vectors as raw_data, the final norm as packed float_data (fp32),
    /// the embedding's dims packed, and an int64 constant inline.
    /// </summary>
    private string WriteFolder(
        DecoderConfig c,
        TensorDType dtype = TensorDType.Float32,
        Func<string, string?>? rename = null,
        Func<string, long?>? offsetOf = null,
        Func<string, long?>? lengthOf = null,
        Func<WeightSpec, long[]?>? dimsOf = null,
        string name = "onnx")
    {
        string folder = Path.Combine(_dir, $"{c.Name}-{dtype.ShortName()}-{name}");
        using var gen = new WeightGenerator(Seed, c.Layers);
        ModelExport.Write(c, TensorDType.Float32, ExportFormat.Hf, folder, gen);
        File.Delete(Path.Combine(folder, SafeTensors.SingleFile));

        using var data = new MemoryStream();
        var graph = new List<byte>();
        void Initializer(string tensor, long[] dims, int type, byte[] bytes, Storage how, bool packedDims = false)
        {
            var t = new List<byte>();
            if (packedDims)
            {
                var packed = new List<byte>();
                foreach (long d in dims)
                {
                    Varint(packed, (ulong)d);
                }

                Bytes(t, 1, [.. packed]);
            }
            else
            {
                foreach (long d in dims)
                {
                    Int(t, 1, d);
                }
            }

            Int(t, 2, type);
            Bytes(t, 8, Encoding.UTF8.GetBytes(tensor));
            if (how == Storage.External)
            {
                data.Write(new byte[(64 - (data.Length % 64)) % 64]);
                long offset = data.Length;
                data.Write(bytes);
                Entry(t, "location", ModelFiles.OnnxDataFile);
                Entry(t, "offset", (offsetOf?.Invoke(tensor) ?? offset).ToString(System.Globalization.CultureInfo.InvariantCulture));
                Entry(t, "length", (lengthOf?.Invoke(tensor) ?? bytes.Length).ToString(System.Globalization.CultureInfo.InvariantCulture));
                Int(t, 14, 1);
            }
            else
            {
                Bytes(t, how == Storage.FloatData ? 4 : 9, bytes);
            }

            Bytes(graph, 5, [.. t]);
        }

        // The rotary table in the graph's float type, as OptimumGraph writes it.
        int type = dtype == TensorDType.Float16 ? Float16Type : FloatType;
        Initializer("rope_cos", [4, 8], type, new byte[(type == FloatType ? 4 : 2) * 4 * 8], Storage.External);
        Initializer("const_i64_0", [2], Int64Type, MemoryMarshal.AsBytes(new long[] { 0, 1 }.AsSpan()).ToArray(), Storage.Raw);
        foreach (WeightSpec spec in WeightLayout.For(c))
        {
            if ((rename is null ? spec.Name : rename(spec.Name)) is not { } tensor)
            {
                continue;
            }

            float[] values = gen.Generate(spec);
            byte[] bytes = dtype == TensorDType.Float16
                ? MemoryMarshal.AsBytes(values.Select(v => (Half)v).ToArray().AsSpan()).ToArray()
                : MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
            Storage how = spec.Shape.Length == 2 ? Storage.External
                : spec.Name == WeightLayout.FinalNormWeight && dtype == TensorDType.Float32 ? Storage.FloatData
                : Storage.Raw;
            long[] dims = dimsOf?.Invoke(spec) ?? spec.Shape;
            Initializer(tensor, dims, type, bytes, how, packedDims: spec.Name == WeightLayout.TokenEmbedding);
        }

        var model = new List<byte>();
        Int(model, 1, 10);
        Bytes(model, 2, "harness"u8);
        Bytes(model, 7, [.. graph]);
        File.WriteAllBytes(Path.Combine(folder, ModelFiles.OnnxGraphFile), [.. model]);
        File.WriteAllBytes(Path.Combine(folder, ModelFiles.OnnxDataFile), data.ToArray());
        return folder;
    }

    private static void Varint(List<byte> b, ulong v)
    {
        for (; v >= 0x80; v >>= 7)
        {
            b.Add((byte)(v | 0x80));
        }

        b.Add((byte)v);
    }

    private static void Int(List<byte> b, int field, long v)
    {
        Varint(b, (ulong)(field << 3));
        Varint(b, (ulong)v);
    }

    private static void Bytes(List<byte> b, int field, ReadOnlySpan<byte> v)
    {
        Varint(b, (ulong)((field << 3) | 2));
        Varint(b, (ulong)v.Length);
        b.AddRange(v);
    }

    private static void Entry(List<byte> b, string key, string value)
    {
        var e = new List<byte>();
        Bytes(e, 1, Encoding.UTF8.GetBytes(key));
        Bytes(e, 2, Encoding.UTF8.GetBytes(value));
        Bytes(b, 13, [.. e]);
    }
}
