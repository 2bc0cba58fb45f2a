using Harness.Backends;
using Harness.Engine;
using Harness.Metrics;
using Harness.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Torch;

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
        _s = GemmSettings.From(options.Extra, options.DType ?? (cuda ? TensorDType.BFloat16 : TensorDType.Float32), cuda ? 8192 : 2048, cuda ? 20 : 1);
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
        _s = CopySettings.From(options.Extra, options.DType, cuda ? 1024 : 256, cuda ? 20 : 1);
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
        d[ConfigKeys.Operation] = _s.ReadOnly ? "src.sum(): one read per element" : "dst.copy_(src): one read and one write per element";
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
