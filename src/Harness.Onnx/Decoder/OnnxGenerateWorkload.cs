using Harness.Backends;
using Harness.Engine;
using Harness.Models;
using Microsoft.ML.OnnxRuntime;

namespace Harness.Onnx.Decoder;

/// <summary>
/// <c>generate</c> on ONNX Runtime: a generated decoder graph (fp32 on CPU, fp16 on CUDA by
/// default), one request = batched prefill of the prompt then greedy decode of the new tokens, each
/// step's tokens read on the host and marked (TTFT, ITL, TPOT). <c>--set cuda_graph=1</c> (onnx:cuda)
/// captures the decode step as a CUDA graph and replays it, which removes the per-kernel launch cost
/// that bounds batch-1 decode.
/// </summary>
public sealed class OnnxGenerateWorkload : IWorkload, IDerivedMetrics
{
    public const string Name = "generate";

    private readonly BackendSpec _backend;
    private readonly WorkloadOptions _options;
    private readonly GenerateSettings _settings;
    private readonly bool _cudaGraph;
    private InferenceSession? _session;
    private OnnxDecoderRunner? _runner;
    private long[] _prompt = [];
    private int _batch;
    private DeviceMemory? _device;

    public OnnxGenerateWorkload(BackendSpec backend, WorkloadOptions options)
    {
        _backend = backend;
        _options = options;
        _settings = GenerateSettings.From(options, backend.Device == "cuda" ? TensorDType.Float16 : TensorDType.Float32);
        _cudaGraph = options.Flag(OnnxSessionFactory.CudaGraphKey);
        if (_cudaGraph && backend.Device != "cuda")
        {
            throw HarnessException.BadInput($"--set {OnnxSessionFactory.CudaGraphKey}=1 needs onnx:cuda; {backend} has no CUDA graphs.");
        }
    }

    public WorkloadDescription Prepare(WorkloadContext context)
    {
        GenerateSettings.RequireOneWorker(context);

        _batch = context.Batch;
        GenerateSettings s = _settings;
        _device = DeviceMemory.For(_backend.Device, _backend.DeviceId);
        MemoryNeed need = MemoryFit.Check(s.Model, _batch, s.PromptTokens, s.MaxContext, s.DType, _device.AvailableBytes, _device.Name);

        string path = DecoderModelCache.GetOrCreate(s.Model, s.DType, s.WeightSeed, Console.Error);
        _session = OnnxSessionFactory.Create(path, _backend, _options, _cudaGraph);
        _runner = new OnnxDecoderRunner(_session, s.Model, s.DType, _backend, _batch, s.PromptTokens, s.MaxContext, captureLogits: false, cudaGraph: _cudaGraph);
        _prompt = s.Prompt(_batch, context.Seed);
        try
        {
            // A few steps, so that a CUDA graph is captured (the provider captures on the run after
            // its warm-up run) and any failure shows here, before anything is measured.
            _runner.Prefill(_prompt);
            for (int i = 0; i < Math.Min(_cudaGraph ? 3 : 1, s.NewTokens); i++)
            {
                _runner.Step();
            }
        }
        catch (OnnxRuntimeException e)
        {
            throw HarnessException.BadInput($"ONNX Runtime could not run the generated {s.Model.Name} graph on {_backend}: {OnnxSessionFactory.FirstLine(e.Message)}", e);
        }

        Dictionary<string, object?> details = s.Details(_batch);
        details["model_path"] = path;
        details["execution_provider"] = _backend.Device == "cuda" ? "CUDAExecutionProvider" : "CPUExecutionProvider";
        details["attention"] = "com.microsoft GroupQueryAttention, KV cache [batch, kv_heads, prompt+new, head_dim] shared by past and present (updated in place)";
        details["decode_shapes"] = _runner.FixedDecodeShapes ? "fixed (total_sequence_length = cache length; lengths in seqlens_k)" : "growing (total_sequence_length = tokens so far)";
        details["cuda_graph"] = _cudaGraph;
        details["memory_estimate_bytes"] = need.Total;
        details["device_memory_bytes"] = _device.AvailableBytes;
        return new WorkloadDescription("tokens", _batch * s.PromptTokens, _batch * s.NewTokens, details);
    }

    public void Execute(RequestContext request)
    {
        OnnxDecoderRunner r = _runner!;
        r.Prefill(_prompt);
        request.MarkToken(_batch);
        for (int i = 1; i < _settings.NewTokens; i++)
        {
            request.CancellationToken.ThrowIfCancellationRequested();
            r.Step();
            request.MarkToken(_batch);
        }
    }

    public IReadOnlyList<DerivedMetric> Derive(EngineResult run) =>
        DecoderMetrics.Derive(run, _settings, _batch, PeakRates.ForGpu(_device?.GpuName, _settings.DType), PeakRates.Measured(_settings.CeilingFiles));

    public void Dispose()
    {
        _runner?.Dispose();
        _session?.Dispose();
    }
}
