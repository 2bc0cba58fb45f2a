using Harness.Backends;
using Harness.Decoding;
using Harness.Metrics;
using Harness.Models;
using static TorchSharp.torch;

namespace Harness.Torch.Decoder;

/// <summary>
/// The decoder as TorchSharp modules (fp32 on CPU, bf16 on CUDA by default) with the same seeded
/// weights as the ONNX graph, making <see cref="TorchDecoderRunner"/>s of the shapes a
/// <see cref="FixedShapeDecoder"/> asks for.
/// </summary>
public sealed class TorchRunnerFactory : IBatchRunnerFactory
{
    private readonly BackendSpec _backend;
    private readonly DecoderSpec _spec;
    private readonly TorchDecoderModel _model;

    /// <summary>Loads libtorch and the weights (on CUDA, staged as fp32 on the host first: that is checked too).</summary>
    public TorchRunnerFactory(BackendSpec backend, WorkloadOptions options, DecoderSpec spec)
    {
        _backend = backend;
        _spec = spec;
        (_model, Device device) = LoadModel(backend, options, spec);
        Dictionary<string, object?> details = TorchSetup.Describe(device);
        details[ConfigKeys.Attention] = "matmul + softmax (fp32) over a preallocated KV cache [batch, kv_heads, prompt+new, head_dim]; no scaled_dot_product_attention (no cuDNN plans per length)";
        Details = details;
    }

    /// <summary>Loads libtorch and the model's seeded weights on the backend's device (on CUDA, staged as fp32 on the host first: that is checked too).</summary>
    internal static (TorchDecoderModel Model, Device Device) LoadModel(BackendSpec backend, WorkloadOptions options, DecoderSpec spec)
    {
        if (backend.Device == "cuda")
        {
            MemoryFit.Check(spec.Model, 1, 1, 1, TensorDType.Float32, MemoryFit.HostAvailableBytes(), "this host (staging the fp32 weights)");
        }

        Device device = TorchSetup.Prepare(backend, options);
        var model = new TorchDecoderModel(spec.Model);
        try
        {
            using IWeightSource weights = ModelWeights.Open(spec.Model, spec.WeightSeed);
            model.LoadWeights(weights, TorchSetup.ScalarTypeOf(spec.DType), device);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return (model, device);
    }

    public string Name => $"{_backend} {_spec.Model.Name} {_spec.DType.ShortName()}";

    public IReadOnlyDictionary<string, object?> Details { get; }

    public IBatchRunner Create(int batch, int promptTokens, int maxContext) => new TorchDecoderRunner(_model, batch, promptTokens, maxContext, captureLogits: false);

    public void Dispose() => _model.Dispose();
}
