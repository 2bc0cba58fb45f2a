using Harness.Backends;
using Harness.Engine;
using Harness.Models;
using Harness.Torch.Decoder;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Torch;

/// <summary>What every TorchSharp workload does first: load libtorch for the device, pick the device, set threads.</summary>
internal static class TorchSetup
{
    public static Device Prepare(BackendSpec backend, WorkloadOptions options)
    {
        options.Extra.TryGetValue("libtorch", out string? dir);
        if (options.Extra.ContainsKey("spin") && TorchRuntime.LoadedFrom is null)
        {
            // --set spin=0: OpenMP threads sleep instead of spinning between ops, as ONNX Runtime's
            // allow_spinning=0 does. libgomp reads the variable when libtorch loads, so set it natively now.
            TorchRuntime.SetNativeEnvironment("OMP_WAIT_POLICY", options.Flag("spin") ? "ACTIVE" : "PASSIVE");
        }

        TorchRuntime.Ensure(backend.Device, dir);
        if (options.Threads is { } t)
        {
            torch.set_num_threads(t);
        }

        return backend.Device == "cuda" ? torch.device(DeviceType.CUDA, backend.DeviceId) : torch.CPU;
    }

    public static ScalarType ScalarTypeOf(TensorDType t) => t switch
    {
        TensorDType.Float32 => ScalarType.Float32,
        TensorDType.Float16 => ScalarType.Float16,
        _ => ScalarType.BFloat16,
    };

    public static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA)
        {
            torch.cuda.synchronize(device);
        }
    }

    public static Dictionary<string, object?> Describe(Device device) => new()
    {
        ["libtorch"] = TorchRuntime.LoadedFrom,
        ["torch_device"] = device.ToString(),
        ["torch_threads"] = torch.get_num_threads(),
        // libtorch's OpenMP threads spin between ops unless this says PASSIVE (read at load time).
        ["omp_wait_policy"] = TorchRuntime.GetNativeEnvironment("OMP_WAIT_POLICY"),
    };
}

/// <summary>
/// <c>generate</c> on TorchSharp: the decoder as modules (fp32 on CPU, bf16 on CUDA by default) with
/// the same seeded weights as the ONNX graph; batched prefill then greedy decode, each step's tokens
/// read on the host.
/// </summary>
public sealed class TorchGenerateWorkload : IWorkload, IDerivedMetrics
{
    public const string Name = "generate";

    private readonly BackendSpec _backend;
    private readonly WorkloadOptions _options;
    private readonly GenerateSettings _settings;
    private TorchDecoderModel? _model;
    private TorchDecoderRunner? _runner;
    private long[] _prompt = [];
    private int _batch;
    private DeviceMemory? _memory;

    public TorchGenerateWorkload(BackendSpec backend, WorkloadOptions options)
    {
        _backend = backend;
        _options = options;
        _settings = GenerateSettings.From(options, backend.Device == "cuda" ? TensorDType.BFloat16 : TensorDType.Float32);
    }

    public WorkloadDescription Prepare(WorkloadContext context)
    {
        GenerateSettings.RequireOneWorker(context);

        _batch = context.Batch;
        GenerateSettings s = _settings;
        _memory = DeviceMemory.For(_backend.Device, _backend.DeviceId);
        // On CUDA the fp32 copy is built on the host first; on the CPU it is the model itself.
        MemoryNeed need = MemoryFit.Check(s.Model, _batch, s.PromptTokens, s.MaxContext, s.DType, _memory.AvailableBytes, _memory.Name);
        if (_backend.Device == "cuda")
        {
            MemoryFit.Check(s.Model, 1, 1, 1, TensorDType.Float32, MemoryFit.HostAvailableBytes(), "this host (staging the fp32 weights)");
        }

        Device device = TorchSetup.Prepare(_backend, _options);
        _model = new TorchDecoderModel(s.Model);
        _model.LoadWeights(new WeightGenerator(s.WeightSeed, s.Model.Layers), TorchSetup.ScalarTypeOf(s.DType), device);
        _runner = new TorchDecoderRunner(_model, _batch, s.PromptTokens, s.MaxContext, captureLogits: false);
        _prompt = s.Prompt(_batch, context.Seed);
        _runner.Prefill(_prompt);
        _runner.Step();

        Dictionary<string, object?> details = s.Details(_batch);
        foreach ((string k, object? v) in TorchSetup.Describe(device))
        {
            details[k] = v;
        }

        details["attention"] = "matmul + softmax (fp32) over a preallocated KV cache [batch, kv_heads, prompt+new, head_dim]; no scaled_dot_product_attention (no cuDNN plans per length)";
        details["memory_estimate_bytes"] = need.Total;
        details["device_memory_bytes"] = _memory.AvailableBytes;
        return new WorkloadDescription("tokens", _batch * s.PromptTokens, _batch * s.NewTokens, details);
    }

    public void Execute(RequestContext request)
    {
        TorchDecoderRunner r = _runner!;
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
        DecoderMetrics.Derive(run, _settings, _batch, PeakRates.ForGpu(_memory?.GpuName, _settings.DType), PeakRates.Measured(_settings.CeilingFiles));

    public void Dispose()
    {
        _runner?.Dispose();
        _model?.Dispose();
    }
}

/// <summary><c>gemm</c> on TorchSharp: C = A.matmul(B), repeated per request; achieved FLOP/s.</summary>
public sealed class TorchGemmWorkload : IWorkload, IDerivedMetrics
{
    public const string Name = "gemm";

    private readonly BackendSpec _backend;
    private readonly WorkloadOptions _options;
    private readonly GemmSettings _s;
    private Tensor? _a;
    private Tensor? _b;
    private Device _device = torch.CPU;
    private DeviceMemory? _memory;

    public TorchGemmWorkload(BackendSpec backend, WorkloadOptions options)
    {
        _backend = backend;
        _options = options;
        bool cuda = backend.Device == "cuda";
        _s = GemmSettings.From(options, cuda ? TensorDType.BFloat16 : TensorDType.Float32, cuda ? 8192 : 2048, cuda ? 20 : 1);
    }

    public WorkloadDescription Prepare(WorkloadContext context)
    {
        _memory = DeviceMemory.For(_backend.Device, _backend.DeviceId);
        _device = TorchSetup.Prepare(_backend, _options);
        torch.manual_seed(context.Seed);
        ScalarType t = TorchSetup.ScalarTypeOf(_s.DType);
        _a = torch.randn([_s.M, _s.K], ScalarType.Float32).to(t, _device);
        _b = torch.randn([_s.K, _s.N], ScalarType.Float32).to(t, _device);
        Run();
        Dictionary<string, object?> d = _s.Details();
        foreach ((string k, object? v) in TorchSetup.Describe(_device))
        {
            d[k] = v;
        }

        return new WorkloadDescription("samples", 1, 1, d);
    }

    public void Execute(RequestContext request) => Run();

    public IReadOnlyList<DerivedMetric> Derive(EngineResult run) => CeilingMetrics.Gemm(run, _s, PeakRates.ForGpu(_memory?.GpuName, _s.DType));

    public void Dispose()
    {
        _a?.Dispose();
        _b?.Dispose();
    }

    private void Run()
    {
        using var mode = inference_mode();
        for (int i = 0; i < _s.Repeats; i++)
        {
            using var scope = NewDisposeScope();
            _a!.matmul(_b!);
        }

        TorchSetup.Synchronize(_device);
    }
}

/// <summary><c>copy</c> on TorchSharp: dst.copy_(src) over a buffer, repeated per request; bytes/s read + write.</summary>
public sealed class TorchCopyWorkload : IWorkload, IDerivedMetrics
{
    public const string Name = "copy";

    private readonly BackendSpec _backend;
    private readonly WorkloadOptions _options;
    private readonly CopySettings _s;
    private Tensor? _src;
    private Tensor? _dst;
    private Device _device = torch.CPU;
    private DeviceMemory? _memory;

    public TorchCopyWorkload(BackendSpec backend, WorkloadOptions options)
    {
        _backend = backend;
        _options = options;
        bool cuda = backend.Device == "cuda";
        _s = CopySettings.From(options, cuda ? 1024 : 256, cuda ? 20 : 1);
    }

    public WorkloadDescription Prepare(WorkloadContext context)
    {
        _memory = DeviceMemory.For(_backend.Device, _backend.DeviceId);
        if (2 * _s.Bytes > _memory.AvailableBytes)
        {
            throw HarnessException.BadInput($"copy needs {MemoryFit.Gib(2 * _s.Bytes)} but {_memory.Name} has {MemoryFit.Gib(_memory.AvailableBytes)}; use a smaller size_mib.");
        }

        _device = TorchSetup.Prepare(_backend, _options);
        ScalarType t = TorchSetup.ScalarTypeOf(_s.DType);
        _src = torch.ones([_s.Elements], t, _device);
        _dst = _s.ReadOnly ? null : torch.zeros([_s.Elements], t, _device);
        Run();
        Dictionary<string, object?> d = _s.Details();
        d["operation"] = _s.ReadOnly ? "src.sum(): one read per element" : "dst.copy_(src): one read and one write per element";
        foreach ((string k, object? v) in TorchSetup.Describe(_device))
        {
            d[k] = v;
        }

        return new WorkloadDescription("samples", 1, 1, d);
    }

    public void Execute(RequestContext request) => Run();

    public IReadOnlyList<DerivedMetric> Derive(EngineResult run) => CeilingMetrics.Copy(run, _s, PeakRates.ForGpu(_memory?.GpuName, _s.DType));

    public void Dispose()
    {
        _src?.Dispose();
        _dst?.Dispose();
    }

    private void Run()
    {
        using var mode = inference_mode();
        for (int i = 0; i < _s.Repeats; i++)
        {
            if (_dst is null)
            {
                using Tensor sum = _src!.sum();
            }
            else
            {
                _dst.copy_(_src!);
            }
        }

        TorchSetup.Synchronize(_device);
    }
}
