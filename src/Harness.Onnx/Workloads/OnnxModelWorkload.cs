using Harness.Backends;
using Harness.Engine;
using Harness.Metrics;
using Harness.Onnx.Cuda;
using Microsoft.ML.OnnxRuntime;

namespace Harness.Onnx.Workloads;

/// <summary>
/// Runs one ONNX model per request through IOBinding: inputs and outputs are bound once per worker,
/// so a request is a single native call with no managed allocation. On CUDA the inputs are copied
/// to device-resident tensors once and outputs stay on the device.
/// </summary>
public abstract class OnnxModelWorkload : IWorkload
{
    private readonly List<IDisposable> _owned = new();
    private Worker[] _workers = [];

    protected OnnxModelWorkload(BackendSpec backend, WorkloadOptions options)
    {
        Backend = backend;
        Options = options;
    }

    protected BackendSpec Backend { get; }

    protected WorkloadOptions Options { get; }

    protected InferenceSession Session { get; private set; } = null!;

    public WorkloadDescription Prepare(WorkloadContext context)
    {
        if (context.Batch < 1)
        {
            throw HarnessException.BadInput($"Batch size must be at least 1, got {context.Batch}.");
        }

        Session = CreateSession();
        Dictionary<string, object?> details = new()
        {
            [ConfigKeys.ExecutionProvider] = Backend.Device == "cuda" ? "CUDAExecutionProvider" : "CPUExecutionProvider",
            [ConfigKeys.DeviceId] = Backend.DeviceId,
            [ConfigKeys.GraphOptimization] = Options.Optimization.Name(),
            [ConfigKeys.IntraOpThreads] = Options.Threads,
            [ConfigKeys.InterOpThreads] = Options.InterOpThreads,
        };
        _workers = new Worker[context.Workers];
        for (int w = 0; w < context.Workers; w++)
        {
            IReadOnlyDictionary<string, OrtValue> inputs = CreateInputs(context, w);
            _workers[w] = BindWorker(inputs);
        }

        details[ConfigKeys.Inputs] = Session.InputMetadata.Keys.ToDictionary(k => k, k => string.Join("x", _workers[0].InputShapes[k]));
        foreach ((string k, object? v) in Describe(context))
        {
            details[k] = v;
        }

        // One run per worker so that output shapes are known and buffers bound before timing starts.
        foreach (Worker w in _workers)
        {
            try
            {
                Session.RunWithBinding(w.RunOptions, w.Binding);
            }
            catch (OnnxRuntimeException e)
            {
                throw HarnessException.BadInput($"The model rejected the inputs ({string.Join(", ", w.InputShapes.Select(kv => $"{kv.Key}={string.Join("x", kv.Value)}"))}): {OnnxSessionFactory.FirstLine(e.Message)}", e);
            }

            BindOutputs(w);
        }

        details[ConfigKeys.Outputs] = _workers[0].OutputShapes.ToDictionary(kv => kv.Key, kv => string.Join("x", kv.Value));
        return new WorkloadDescription("samples", context.Batch, context.Batch, details);
    }

    public void Execute(RequestContext request)
    {
        Worker w = _workers[request.WorkerIndex];
        if (BeforeRun(request, w.Inputs) && w.DeviceInputs.Count > 0)
        {
            // New host data for this request: one host-to-device copy, as a server would do.
            DeviceCopy.ToDevice(w.HostInputList, w.DeviceInputs);
        }

        Session.RunWithBinding(w.RunOptions, w.Binding);
        if (Backend.Device == "cuda")
        {
            w.Binding.SynchronizeBoundOutputs();
        }
    }

    public void Dispose()
    {
        // Prepare may have failed half-way: dispose what exists.
        foreach (Worker? w in _workers)
        {
            w?.Dispose();
        }

        foreach (IDisposable d in _owned)
        {
            d.Dispose();
        }

        Session?.Dispose();
        GC.SuppressFinalize(this);
    }

    protected abstract InferenceSession CreateSession();

    /// <summary>Host tensors for one worker, by input name.</summary>
    protected abstract IReadOnlyDictionary<string, OrtValue> CreateInputs(WorkloadContext context, int worker);

    /// <summary>Workload facts for the result's config.</summary>
    protected virtual IEnumerable<KeyValuePair<string, object?>> Describe(WorkloadContext context) => [];

    /// <summary>Updates the host inputs in place before a request (e.g. the next sentences); true when it changed them.</summary>
    protected virtual bool BeforeRun(RequestContext request, IReadOnlyDictionary<string, OrtValue> inputs) => false;

    /// <summary>Keeps something alive until the workload is disposed.</summary>
    protected T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    private Worker BindWorker(IReadOnlyDictionary<string, OrtValue> inputs)
    {
        var w = new Worker(Session.CreateIoBinding(), new RunOptions(), inputs);
        OrtMemoryInfo outputMemory = Backend.Device == "cuda"
            ? w.Own(new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, Backend.DeviceId, OrtMemType.Default))
            : OrtMemoryInfo.DefaultInstance;
        OrtAllocator? deviceAllocator = Backend.Device == "cuda" ? w.Own(new OrtAllocator(Session, outputMemory)) : null;
        foreach ((string name, OrtValue value) in inputs)
        {
            var info = value.GetTensorTypeAndShape();
            w.InputShapes[name] = info.Shape;
            if (deviceAllocator is null)
            {
                w.Binding.BindInput(name, value);
                continue;
            }

            // Device-resident inputs: copied once here, not on every run.
            OrtValue device = w.Own(OrtValue.CreateAllocatedTensorValue(deviceAllocator, info.ElementDataType, info.Shape));
            w.HostInputList.Add(value);
            w.DeviceInputs.Add(device);
            w.Binding.BindInput(name, device);
        }

        if (w.DeviceInputs.Count > 0)
        {
            DeviceCopy.ToDevice(w.HostInputList, w.DeviceInputs);
        }

        w.OutputMemory = outputMemory;
        foreach (string name in Session.OutputNames)
        {
            w.Binding.BindOutputToDevice(name, outputMemory);
        }

        return w;
    }

    /// <summary>After a first run, binds fixed output buffers of the now-known shapes so later runs allocate nothing.</summary>
    private void BindOutputs(Worker w)
    {
        using IDisposableReadOnlyCollection<OrtValue> produced = w.Binding.GetOutputValues();
        var names = Session.OutputNames;
        for (int i = 0; i < names.Count; i++)
        {
            var info = produced[i].GetTensorTypeAndShape();
            w.OutputShapes[names[i]] = info.Shape;
            if (Backend.Device == "cuda")
            {
                continue; // ORT reuses its device arena for outputs bound to the device.
            }

            OrtValue buffer = w.Own(OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, info.ElementDataType, info.Shape));
            w.Binding.BindOutput(names[i], buffer);
        }
    }

    private sealed class Worker : IDisposable
    {
        private readonly List<IDisposable> _owned = new();

        public Worker(OrtIoBinding binding, RunOptions runOptions, IReadOnlyDictionary<string, OrtValue> inputs)
        {
            Binding = binding;
            RunOptions = runOptions;
            Inputs = inputs;
        }

        public OrtIoBinding Binding { get; }

        public RunOptions RunOptions { get; }

        public IReadOnlyDictionary<string, OrtValue> Inputs { get; }

        public OrtMemoryInfo OutputMemory { get; set; } = OrtMemoryInfo.DefaultInstance;

        public Dictionary<string, long[]> InputShapes { get; } = new();

        public List<OrtValue> HostInputList { get; } = new();

        public List<OrtValue> DeviceInputs { get; } = new();

        public Dictionary<string, long[]> OutputShapes { get; } = new();

        public T Own<T>(T d)
            where T : IDisposable
        {
            _owned.Add(d);
            return d;
        }

        public void Dispose()
        {
            Binding.Dispose();
            RunOptions.Dispose();
            foreach (OrtValue v in Inputs.Values)
            {
                v.Dispose();
            }

            foreach (IDisposable d in _owned)
            {
                d.Dispose();
            }
        }
    }
}
