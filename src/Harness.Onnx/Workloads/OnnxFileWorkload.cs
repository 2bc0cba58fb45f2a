using Harness.Backends;
using Harness.Engine;
using Harness.Metrics;
using Harness.Trust.Comparability;
using Microsoft.ML.OnnxRuntime;

namespace Harness.Onnx.Workloads;

/// <summary>Any ONNX model the user gives (<c>--model PATH</c>), with inputs synthesized from the declared types and a fixed seed.</summary>
public sealed class OnnxFileWorkload : OnnxModelWorkload
{
    public const string Name = "onnx-file";

    public OnnxFileWorkload(BackendSpec backend, WorkloadOptions options)
        : base(backend, options)
    {
        if (string.IsNullOrWhiteSpace(options.ModelPath))
        {
            throw HarnessException.BadInput("Workload onnx-file needs --model PATH.");
        }
    }

    protected override InferenceSession CreateSession() => OnnxSessionFactory.Create(Options.ModelPath!, Backend, Options);

    protected override IReadOnlyDictionary<string, OrtValue> CreateInputs(WorkloadContext context, int worker)
    {
        foreach (string given in Options.Shapes.Keys)
        {
            if (!Session.InputMetadata.ContainsKey(given))
            {
                throw HarnessException.BadInput($"--shape names input '{given}', which the model does not have; its inputs are {string.Join(", ", Session.InputMetadata.Keys)}.");
            }
        }

        var rng = new Random(context.Seed + worker);
        return Session.InputMetadata.ToDictionary(
            kv => kv.Key,
            kv => InputSynthesizer.Create(kv.Key, kv.Value.ElementDataType, InputSynthesizer.ResolveShape(kv.Key, kv.Value, Options.Shapes, context.Batch), rng));
    }

    protected override IEnumerable<KeyValuePair<string, object?>> Describe(WorkloadContext context) =>
    [
        new(ConfigKeys.ModelPath, Path.GetFullPath(Options.ModelPath!)),
        new(ConfigKeys.ModelBytes, new FileInfo(Options.ModelPath!).Length),
        new(ModelFileHash.ConfigKey, ModelFileHash.Sha256(Options.ModelPath!)),
    ];
}
