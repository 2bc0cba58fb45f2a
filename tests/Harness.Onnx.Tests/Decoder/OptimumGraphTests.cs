using System.Text;
using Harness.Backends;
using Harness.Models;
using Harness.Models.Formats;
using Harness.Onnx.Decoder;

namespace Harness.Onnx.Tests.Decoder;

/// <summary>
/// The folder <c>harness export --format onnx|genai</c> writes (<see cref="OptimumGraph"/>) keeps every weight under its
/// canonical name and shape, so the core's reader (<see cref="OnnxInitializers"/>, what torch:* and export load) gives
/// back exactly the seeded weights; a graph whose initializer has another name is refused by the folder and that weight.
/// </summary>
public sealed class OptimumGraphTests : IDisposable
{
    private const int Seed = 5;
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-optimum-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("tiny-llama-test", ExportFormat.Onnx, TensorDType.Float32)]
    [InlineData("tiny-gpt2-test", ExportFormat.Onnx, TensorDType.Float32)]
    [InlineData("tiny-llama-test", ExportFormat.Genai, TensorDType.Float32)]
    [InlineData("tiny-gpt2-test", ExportFormat.Onnx, TensorDType.Float16)]
    public void The_exported_initializers_read_back_as_the_seeded_weights(string model, ExportFormat format, TensorDType dtype)
    {
        DecoderConfig c = ModelCatalog.Load(model);
        DecoderConfig read = Export(c, format, dtype);
        using var gen = new WeightGenerator(Seed, c.Layers);
        using IWeightSource weights = ModelWeights.Open(read, weightSeed: 999);
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

    [Fact]
    public void A_graph_with_a_renamed_initializer_is_refused_by_the_folder_and_the_weight()
    {
        DecoderConfig read = Export(ModelCatalog.Load("tiny-llama-test"), ExportFormat.Onnx, TensorDType.Float32);
        // The same length, so the protobuf stays valid: the initializer and the node reading it both renamed.
        byte[] bytes = File.ReadAllBytes(read.OnnxGraph!);
        byte[] name = Encoding.UTF8.GetBytes("h1.mlp.down.weight"), other = Encoding.UTF8.GetBytes("h1.mlp.down.wEight");
        int renamed = 0;
        for (int at = bytes.AsSpan().IndexOf(name); at >= 0; at = bytes.AsSpan().IndexOf(name))
        {
            other.CopyTo(bytes, at);
            renamed++;
        }

        Assert.Equal(2, renamed);
        File.WriteAllBytes(read.OnnxGraph!, bytes);
        HarnessException e = Assert.Throws<HarnessException>(() => ModelWeights.Open(read, 1));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(read.WeightsPath!, e.Message, StringComparison.Ordinal);
        Assert.Contains("no initializer h1.mlp.down.weight", e.Message, StringComparison.Ordinal);
    }

    private DecoderConfig Export(DecoderConfig c, ExportFormat format, TensorDType dtype)
    {
        string path = Path.Combine(_dir, $"{c.Name}-{format}-{dtype.ShortName()}");
        using (var gen = new WeightGenerator(Seed, c.Layers))
        {
            OptimumGraph.Export(c, dtype, path, gen, format);
        }

        DecoderConfig read = ModelCatalog.Load(path);
        Assert.NotNull(read.OnnxGraph);
        return read;
    }
}
