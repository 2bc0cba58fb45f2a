using System.Runtime.InteropServices;
using Harness.Backends;
using Harness.Engine;
using Harness.Metrics;
using Harness.Models;
using Harness.Onnx.Cuda;
using Harness.Onnx.Decoder;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Onnx.Ceilings;

/// <summary>
/// A one-node graph run many times with every tensor bound once (device-resident on CUDA): the
/// machine's measured ceilings for MFU (<c>gemm</c>) and MBU (<c>copy</c>).
/// </summary>
public abstract class OnnxCeilingWorkload : IWorkload, IDerivedMetrics
{
    private readonly List<IDisposable> _owned = [];
    private InferenceSession? _session;
    private OrtIoBinding? _binding;
    private RunOptions? _runOptions;

    protected OnnxCeilingWorkload(BackendSpec backend, WorkloadOptions options)
    {
        Backend = backend;
        Options = options;
    }

    protected BackendSpec Backend { get; }

    protected WorkloadOptions Options { get; }

    protected bool Cuda => Backend.Device == "cuda";

    protected DeviceMemory? Device { get; private set; }

    /// <summary>Runs of the graph per request.</summary>
    protected abstract int Repeats { get; }

    public WorkloadDescription Prepare(WorkloadContext context)
    {
        if (context.Workers != 1)
        {
            throw HarnessException.BadInput("gemm and copy measure one stream of work; use concurrency 1.");
        }

        Device = DeviceMemory.For(Backend.Device, Backend.DeviceId);
        (byte[] model, IReadOnlyList<(string Name, TensorDType Type, long[] Shape, float Fill)> inputs, (string Name, TensorDType Type, long[] Shape) output, long bytes) = BuildGraph();
        if (bytes > Device.AvailableBytes)
        {
            throw HarnessException.BadInput($"The operands need {MemoryFit.Gib(bytes)} but {Device.Name} has {MemoryFit.Gib(Device.AvailableBytes)}; use a smaller size.");
        }

        _session = OnnxSessionFactory.Create(model, GetType().Name, Backend, Options);
        _runOptions = Own(new RunOptions());
        _binding = Own(_session.CreateIoBinding());
        OrtMemoryInfo? deviceMemory = Cuda ? Own(new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, Backend.DeviceId, OrtMemType.Default)) : null;
        OrtAllocator allocator = deviceMemory is null ? OrtAllocator.DefaultInstance : Own(new OrtAllocator(_session, deviceMemory));
        var rng = new Random(context.Seed);
        foreach ((string name, TensorDType type, long[] shape, float fill) in inputs)
        {
            OrtValue host = Own(OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, ElementType(type), shape));
            FillHost(host, type, fill, rng);
            if (deviceMemory is null)
            {
                _binding.BindInput(name, host);
                continue;
            }

            OrtValue device = Own(OrtValue.CreateAllocatedTensorValue(allocator, ElementType(type), shape));
            DeviceCopy.ToDevice([host], [device]);
            _binding.BindInput(name, device);
        }

        _binding.BindOutput(output.Name, Own(OrtValue.CreateAllocatedTensorValue(allocator, ElementType(output.Type), output.Shape)));
        _session.RunWithBinding(_runOptions, _binding);
        _binding.SynchronizeBoundOutputs();

        Dictionary<string, object?> details = Describe();
        details[ConfigKeys.ExecutionProvider] = Cuda ? "CUDAExecutionProvider" : "CPUExecutionProvider";
        details[ConfigKeys.Device] = Device.Name;
        return new WorkloadDescription("samples", 1, 1, details);
    }

    public void Execute(RequestContext request)
    {
        for (int i = 0; i < Repeats; i++)
        {
            _session!.RunWithBinding(_runOptions!, _binding!);
        }

        if (Cuda)
        {
            _binding!.SynchronizeBoundOutputs();
        }
    }

    public abstract IReadOnlyList<DerivedMetric> Derive(EngineResult run);

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        _session?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The graph, its inputs (name, dtype, shape, fill: NaN for random), its output, and operand bytes.</summary>
    protected abstract (byte[] Model, IReadOnlyList<(string Name, TensorDType Type, long[] Shape, float Fill)> Inputs, (string Name, TensorDType Type, long[] Shape) Output, long Bytes) BuildGraph();

    protected abstract Dictionary<string, object?> Describe();

    private static TensorElementType ElementType(TensorDType t) => t switch
    {
        TensorDType.Float32 => TensorElementType.Float,
        TensorDType.Float16 => TensorElementType.Float16,
        _ => TensorElementType.BFloat16,
    };

    private static void FillHost(OrtValue value, TensorDType type, float fill, Random rng)
    {
        Span<byte> raw = value.GetTensorMutableRawData();
        if (type == TensorDType.Float32)
        {
            Span<float> f = MemoryMarshal.Cast<byte, float>(raw);
            for (int i = 0; i < f.Length; i++)
            {
                f[i] = float.IsNaN(fill) ? (float)(rng.NextDouble() - 0.5) : fill;
            }

            return;
        }

        Span<ushort> h = MemoryMarshal.Cast<byte, ushort>(raw);
        for (int i = 0; i < h.Length; i++)
        {
            float v = float.IsNaN(fill) ? (float)(rng.NextDouble() - 0.5) : fill;
            h[i] = type == TensorDType.Float16 ? BitConverter.HalfToUInt16Bits((Half)v) : GraphBuilder.ToBFloat16(v);
        }
    }

    private T Own<T>(T d)
        where T : IDisposable
    {
        _owned.Add(d);
        return d;
    }
}

/// <summary><c>gemm</c>: C = A x B (MatMul) at a size and dtype; achieved FLOP/s.</summary>
public sealed class OnnxGemmWorkload : OnnxCeilingWorkload
{
    public const string Name = "gemm";

    private readonly GemmSettings _s;

    public OnnxGemmWorkload(BackendSpec backend, WorkloadOptions options)
        : base(backend, options) =>
        _s = GemmSettings.From(options.Extra, options.DType ?? (backend.Device == "cuda" ? TensorDType.Float16 : TensorDType.Float32), backend.Device == "cuda" ? 8192 : 2048, backend.Device == "cuda" ? 20 : 1);

    protected override int Repeats => _s.Repeats;

    public override IReadOnlyList<DerivedMetric> Derive(EngineResult run) => CeilingMetrics.Gemm(run, _s, PeakRates.ForGpu(Device?.GpuName, _s.DType));

    protected override (byte[], IReadOnlyList<(string, TensorDType, long[], float)>, (string, TensorDType, long[]), long) BuildGraph()
    {
        using var g = new GraphBuilder(_s.DType, null);
        g.Input("A", g.FloatType, _s.M, _s.K);
        g.Input("B", g.FloatType, _s.K, _s.N);
        g.Node("MatMul", ["A", "B"], "C");
        g.Output("C", g.FloatType, _s.M, _s.N);
        long bytes = ((long)_s.M * _s.K + (long)_s.K * _s.N + (long)_s.M * _s.N) * _s.DType.Bytes();
        return (g.Build("gemm", "C = A x B"), [("A", _s.DType, [_s.M, _s.K], float.NaN), ("B", _s.DType, [_s.K, _s.N], float.NaN)], ("C", _s.DType, [_s.M, _s.N]), bytes);
    }

    protected override Dictionary<string, object?> Describe() => _s.Details();
}

/// <summary>
/// <c>copy</c>: Y = X + s over a buffer (an elementwise pass: every byte read once and written once;
/// the scalar is a runtime input so nothing folds away); achieved bytes/s, read + write.
/// </summary>
public sealed class OnnxCopyWorkload : OnnxCeilingWorkload
{
    public const string Name = "copy";

    private readonly CopySettings _s;

    public OnnxCopyWorkload(BackendSpec backend, WorkloadOptions options)
        : base(backend, options) =>
        _s = CopySettings.From(options.Extra, options.DType, backend.Device == "cuda" ? 1024 : 256, backend.Device == "cuda" ? 20 : 1);

    protected override int Repeats => _s.Repeats;

    public override IReadOnlyList<DerivedMetric> Derive(EngineResult run) => CeilingMetrics.Copy(run, _s, PeakRates.ForGpu(Device?.GpuName, _s.DType));

    protected override (byte[], IReadOnlyList<(string, TensorDType, long[], float)>, (string, TensorDType, long[]), long) BuildGraph()
    {
        using var g = new GraphBuilder(_s.DType, null);
        g.Input("X", g.FloatType, _s.Elements);
        if (_s.ReadOnly)
        {
            g.Node("ReduceSum", ["X"], "Y", attrs: new OnnxAttr.Int("keepdims", 1));
            g.Output("Y", g.FloatType, 1);
            return (g.Build("read", "Y = sum(X)"), [("X", _s.DType, [_s.Elements], float.NaN)], ("Y", _s.DType, [1]), _s.Bytes);
        }

        g.Input("s", g.FloatType, 1);
        g.Node("Add", ["X", "s"], "Y");
        g.Output("Y", g.FloatType, _s.Elements);
        return (g.Build("copy", "Y = X + s"), [("X", _s.DType, [_s.Elements], float.NaN), ("s", _s.DType, [1], 0f)], ("Y", _s.DType, [_s.Elements]), 2 * _s.Bytes);
    }

    protected override Dictionary<string, object?> Describe()
    {
        Dictionary<string, object?> d = _s.Details();
        d[ConfigKeys.Operation] = _s.ReadOnly ? "Y = ReduceSum(X): one read per element" : "Y = X + s (ONNX Add with a runtime scalar): one read and one write per element";
        return d;
    }
}
