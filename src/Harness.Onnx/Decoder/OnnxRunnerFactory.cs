using Harness.Backends;
using Harness.Decoding;
using Harness.Metrics;
using Microsoft.ML.OnnxRuntime;

namespace Harness.Onnx.Decoder;

/// <summary>
/// One ONNX Runtime session of a generated decoder graph, making <see cref="OnnxDecoderRunner"/>s of
/// the shapes a <see cref="FixedShapeDecoder"/> asks for. With <c>--set cuda_graph=1</c> (onnx:cuda)
/// the session captures the decode step as a CUDA graph and replays it, which removes the
/// per-kernel launch cost that bounds batch-1 decode.
/// </summary>
public sealed class OnnxRunnerFactory : IBatchRunnerFactory
{
    private readonly InferenceSession _session;
    private readonly BackendSpec _backend;
    private readonly DecoderSpec _spec;
    private readonly bool _cudaGraph;

    /// <summary>Generates the graph (or takes it from the cache) and opens its session.</summary>
    public OnnxRunnerFactory(BackendSpec backend, WorkloadOptions options, DecoderSpec spec, TextWriter log)
    {
        _backend = backend;
        _spec = spec;
        _cudaGraph = CudaGraph(backend, options);
        string path = DecoderModelCache.GetOrCreate(spec.Model, spec.DType, spec.WeightSeed, log);
        _session = OnnxSessionFactory.Create(path, backend, options, _cudaGraph);
        Details = new Dictionary<string, object?>
        {
            [ConfigKeys.ModelPath] = path,
            [ConfigKeys.ExecutionProvider] = backend.Device == "cuda" ? "CUDAExecutionProvider" : "CPUExecutionProvider",
            [ConfigKeys.Attention] = "com.microsoft GroupQueryAttention, KV cache [batch, kv_heads, prompt+new, head_dim] shared by past and present (updated in place)",
            [ConfigKeys.DecodeShapes] = _cudaGraph ? "fixed (total_sequence_length = cache length; lengths in seqlens_k)" : "growing (total_sequence_length = tokens so far)",
            [ConfigKeys.CudaGraph] = _cudaGraph,
        };
    }

    public string Name => $"{_backend} {_spec.Model.Name} {_spec.DType.ShortName()}";

    public IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary><c>--set cuda_graph=1</c>, checked: only onnx:cuda has CUDA graphs.</summary>
    public static bool CudaGraph(BackendSpec backend, WorkloadOptions options)
    {
        bool cudaGraph = OnnxSessionFactory.CudaGraphKey.Get(options.Extra);
        return cudaGraph && backend.Device != "cuda"
            ? throw HarnessException.BadInput(
                $"--set {OnnxSessionFactory.CudaGraphKey.Name}=1 needs onnx:cuda; {backend} has no CUDA graphs.")
            : cudaGraph;
    }

    public IBatchRunner Create(int batch, int promptTokens, int maxContext) =>
        new OnnxDecoderRunner(_session, _spec.Model, _spec.DType, _backend, batch, promptTokens, maxContext, captureLogits: false, cudaGraph: _cudaGraph);

    public void Dispose() => _session.Dispose();
}
