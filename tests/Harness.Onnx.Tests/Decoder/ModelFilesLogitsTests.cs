using Harness.Backends;
using Harness.Models;
using Harness.Models.Formats;
using Harness.Onnx.Decoder;

namespace Harness.Onnx.Tests.Decoder;

/// <summary>
/// A model exported by <c>harness export</c> and read back with <c>--model PATH</c> runs on ONNX Runtime
/// with the logits of the in-memory seeded model (fp32, relative error under 1e-4) and its greedy tokens,
/// in each format and architecture.
/// </summary>
public sealed class ModelFilesLogitsTests : IDisposable
{
    private const int Seed = 7;
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-model-files-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("tiny-llama-test", ExportFormat.Hf)]
    [InlineData("tiny-llama-test", ExportFormat.Gguf)]
    [InlineData("tiny-gpt2-test", ExportFormat.Hf)]
    [InlineData("tiny-gpt2-test", ExportFormat.Gguf)]
    [InlineData("tiny-llama-test", ExportFormat.Onnx)]
    [InlineData("tiny-gpt2-test", ExportFormat.Onnx)]
    public void Exported_files_give_the_seeded_models_logits(string model, ExportFormat format)
    {
        DecoderConfig c = DecoderTestSupport.Tiny(model);
        string path = Path.Combine(_dir, model + (format == ExportFormat.Gguf ? ".gguf" : ""));
        using (var gen = new WeightGenerator(Seed, c.Layers))
        {
            if (format == ExportFormat.Onnx)
            {
                OptimumGraph.Export(c, TensorDType.Float32, path, gen);
            }
            else
            {
                ModelExport.Write(c, TensorDType.Float32, format, path, gen);
            }
        }

        DecoderConfig read = ModelCatalog.Load(path);
        Assert.Equal(format == ExportFormat.Onnx, read.OnnxGraph is not null);
        const int batch = 2, promptTokens = 5, newTokens = 4;
        long[] prompt = new GenerateSettings { Model = c, PromptTokens = promptTokens, DType = TensorDType.Float32 }.Prompt(batch, seed: 3);
        (long[][] seededTokens, float[][] seededLogits) = DecoderTestSupport.GenerateOnnx(c, batch, prompt, promptTokens, newTokens, Seed);
        (long[][] fileTokens, float[][] fileLogits) =
            DecoderTestSupport.GenerateOnnx(read, batch, prompt, promptTokens, newTokens, weightSeed: 999);
        for (int step = 0; step < newTokens; step++)
        {
            double err = DecoderTestSupport.RelativeError(fileLogits[step], seededLogits[step]);
            Assert.True(err < 1e-4, $"{model} {format} step {step}: relative error {err:g3}");
            Assert.Equal(seededTokens[step], fileTokens[step]);
        }
    }
}
