using Harness.Backends;
using Harness.Onnx.Workloads;
using Microsoft.ML.OnnxRuntime;

namespace Harness.Onnx.Tests.Workloads;

public class BundledModelsTests
{
    [Fact]
    public void ResNet18_ships_beside_the_app_with_its_fixed_input()
    {
        using InferenceSession s = OnnxSessionFactory.Create(BundledModels.ResNet18Path, BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 1 });
        NodeMetadata input = s.InputMetadata["Input247"];
        Assert.Equal([1, 3, 224, 224], input.Dimensions);
        Assert.Equal([1L, 3, 224, 224], InputSynthesizer.ResolveShape("Input247", input, new Dictionary<string, long[]>(), 1));
        var e = Assert.Throws<HarnessException>(() => InputSynthesizer.ResolveShape("Input247", input, new Dictionary<string, long[]>(), 2));
        Assert.Contains("fixed batch size of 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MiniLm_model_and_vocabulary_are_read_from_the_package_assembly()
    {
        byte[] vocab = BundledModels.ReadManifestResource(BundledModels.MiniLmAssemblyPath, BundledModels.MiniLmVocabResource);
        string[] words = System.Text.Encoding.UTF8.GetString(vocab).Split('\n');
        Assert.Equal("[PAD]", words[0].Trim());
        Assert.Equal("[CLS]", words[101].Trim());

        byte[] model = BundledModels.ReadManifestResource(BundledModels.MiniLmAssemblyPath, BundledModels.MiniLmModelResource);
        using var session = new InferenceSession(model);
        Assert.Contains("input_ids", session.InputMetadata.Keys);
        Assert.Contains("attention_mask", session.InputMetadata.Keys);
        Assert.Throws<HarnessException>(() => BundledModels.ReadManifestResource(BundledModels.MiniLmAssemblyPath, "nope"));
    }

    [Fact]
    public void MiniLm_embeds_real_sentences_with_cls_and_sep_tokens()
    {
        using var w = new MiniLmWorkload(BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 1 });
        var d = w.Prepare(new Harness.Engine.WorkloadContext(2, 1, 42, default));
        Assert.Equal("samples", d.Unit);
        Assert.Equal(2, d.OutputUnitsPerRequest);
        int seq = (int)d.Details["sequence_length"]!;
        Assert.InRange(seq, 10, 64);
        var outputs = (Dictionary<string, string>)d.Details["outputs"]!;
        Assert.Contains(outputs.Values, shape => shape == $"2x{seq}x384");
    }

    [Fact]
    public void Synthesized_inputs_are_deterministic_for_a_seed()
    {
        using var a = InputSynthesizer.Create("x", Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, [2, 3], new Random(5));
        using var b = InputSynthesizer.Create("x", Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, [2, 3], new Random(5));
        Assert.Equal(a.GetTensorDataAsSpan<float>().ToArray(), b.GetTensorDataAsSpan<float>().ToArray());
        Assert.All(a.GetTensorDataAsSpan<float>().ToArray(), v => Assert.InRange(v, -1f, 1f));
    }
}
