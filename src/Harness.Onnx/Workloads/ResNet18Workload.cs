using Harness.Backends;
using Harness.Engine;
using Harness.Metrics;
using Harness.Trust.Comparability;
using Microsoft.ML.OnnxRuntime;

namespace Harness.Onnx.Workloads;

/// <summary>
/// The real ResNet-18 from Microsoft.ML.DnnImageFeaturizer.ResNet18 (fixed batch 1, input
/// Input247 1x3x224x224), fed a seeded image normalized as ImageNet models expect.
/// </summary>
public sealed class ResNet18Workload : OnnxModelWorkload
{
    public const string Name = "resnet18";

    public ResNet18Workload(BackendSpec backend, WorkloadOptions options)
        : base(backend, options)
    {
    }

    protected override InferenceSession CreateSession() =>
        OnnxSessionFactory.Create(BundledModels.RequireFile(BundledModels.ResNet18Path, "Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1"), Backend, Options);

    protected override IReadOnlyDictionary<string, OrtValue> CreateInputs(WorkloadContext context, int worker)
    {
        var rng = new Random(context.Seed + worker);
        return Session.InputMetadata.ToDictionary(
            kv => kv.Key,
            kv => InputSynthesizer.Create(kv.Key, kv.Value.ElementDataType, InputSynthesizer.ResolveShape(kv.Key, kv.Value, Options.Shapes, context.Batch), rng));
    }

    protected override IEnumerable<KeyValuePair<string, object?>> Describe(WorkloadContext context) =>
    [
        new(ConfigKeys.Model, "ResNet18.onnx (Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1)"),
        new(ConfigKeys.ModelPath, BundledModels.ResNet18Path),
        new(ModelFileHash.ConfigKey, ModelFileHash.Sha256(BundledModels.ResNet18Path)),
    ];
}
