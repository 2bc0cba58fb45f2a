using System.Runtime.InteropServices;
using Harness.Backends;
using Harness.Decoding;
using Harness.Engine;
using Harness.Models;
using Harness.Onnx.Ceilings;
using Harness.Onnx.Decoder;
using Harness.Onnx.Workloads;
using Microsoft.ML.OnnxRuntime;

namespace Harness.Onnx;

/// <summary>ONNX Runtime as a harness backend: <c>onnx:cpu</c> and <c>onnx:cuda[:id]</c>, and its generated decoders.</summary>
public sealed class OnnxBackendProvider : IBackendProvider, IDecoderProvider
{
    /// <summary>CUDA libraries the CUDA provider of ORT 1.32 (a CUDA 13 build) needs at load time.</summary>
    private static readonly string[] CudaLibraries = ["libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcudnn.so.9"];

    private readonly TextWriter _log;
    private readonly WorkloadTable _workloads;

    /// <param name="log">Where workloads say what they do besides measuring (a decoder graph generated...); nowhere by default.</param>
    public OnnxBackendProvider(TextWriter? log = null)
    {
        _log = log ?? TextWriter.Null;
        _workloads = new WorkloadTable("ONNX",
        [
            new(ResNet18Workload.Name,
                "ResNet-18 image classifier (real model from Microsoft.ML.DnnImageFeaturizer.ResNet18), batch 1",
                (b, o) => new ResNet18Workload(b, o)) { Settings = OnnxSessionFactory.Settings },
            new(MiniLmWorkload.Name,
                "all-MiniLM-L6-v2 sentence embeddings on real tokenized sentences",
                (b, o) => new MiniLmWorkload(b, o)) { Settings = MiniLmWorkload.Settings },
            new(OnnxFileWorkload.Name,
                "any ONNX model: --model PATH [--shape name=1x3x224x224]",
                (b, o) => new OnnxFileWorkload(b, o)) { Settings = OnnxSessionFactory.Settings },
            new(GenerateWorkload.Name,
                "decoder LLM (generated graph, seeded weights): batched prefill + decode; "
                + "--model-config, --prompt-tokens, --new-tokens, --dtype",
                Generate) { Settings = GenerateWorkload.Keys(DecoderSettings) },
            new(OnnxGemmWorkload.Name,
                "matrix product C = A x B (--set size=N or m/n/k, --dtype): achieved FLOP/s",
                (b, o) => new OnnxGemmWorkload(b, o)) { Settings = GemmSettings.Schema.With(RuntimeSettings.Spin) },
            new(OnnxCopyWorkload.Name,
                "memory bandwidth, Y = X + s over a buffer (--set size_mib=N): achieved bytes/s",
                (b, o) => new OnnxCopyWorkload(b, o)) { Settings = CopySettings.Schema.With(RuntimeSettings.Spin) },
        ]);
    }

    public string Runtime => "onnx";

    public IReadOnlyList<string> Devices { get; } = ["cpu", "cuda"];

    public IReadOnlyList<WorkloadInfo> Workloads => _workloads.Infos;

    public KeyValuePair<string, string?> PackageVersion => new("onnxruntime", TryVersion());

    public DoctorCheck CheckDevice(string device)
    {
        if (TryVersion() is null)
        {
            return new("onnxruntime", false, "ONNX Runtime's native library did not load; restore the package Microsoft.ML.OnnxRuntime.Gpu.Linux 1.32.0 (dotnet build).");
        }

        if (device == "cpu")
        {
            return new("onnx:cpu", true, $"ONNX Runtime {TryVersion()} with the CPU execution provider");
        }

        string[] missing = CudaLibraries.Where(l => !CanLoad(l)).ToArray();
        if (missing.Length > 0)
        {
            return new("onnx:cuda", false, $"CUDA 13 / cuDNN 9 libraries not found ({string.Join(", ", missing)}); install them or put their folder on LD_LIBRARY_PATH.");
        }

        using var nvml = new Hardware.NvmlLibrary();
        if (nvml.ListGpus().Count == 0)
        {
            return new("onnx:cuda", false, $"no NVIDIA GPU is visible ({nvml.UnavailableReason ?? "NVML lists none"}).");
        }

        return new("onnx:cuda", true, "CUDA 13 and cuDNN 9 libraries load and a GPU is visible");
    }

    /// <summary>For <c>harness doctor</c>: each device, where ONNX Runtime's library was loaded from, and the bundled models.</summary>
    public IReadOnlyList<DoctorCheck> Diagnose()
    {
        DoctorCheck cpu = CheckDevice("cpu");
        if (cpu.Ok && Hardware.LoadedLibraries.PathOf("libonnxruntime.so") is { } lib)
        {
            cpu = cpu with { Detail = $"{cpu.Detail} ({lib})" };
        }

        return [cpu, CheckDevice("cuda"), BundledModels.Check()];
    }

    public IWorkload Create(string workload, BackendSpec backend, WorkloadOptions options) => _workloads.Create(workload, backend, options);

    /// <summary>This backend's decoders' settings: the session's, the weights' seed, CUDA graphs, int8/int4 blocks, the profiler.</summary>
    public SettingsSchema DecoderSettings { get; } = OnnxSessionFactory.Settings.With(
        [GenerateSettings.WeightSeedKey, OnnxSessionFactory.CudaGraphKey, .. WeightQuantization.Keys, OnnxSessionFactory.ProfileKey]);

    /// <summary>fp32 on the CPU, fp16 on CUDA.</summary>
    public TensorDType DefaultDType(BackendSpec backend) => backend.Device == "cuda" ? TensorDType.Float16 : TensorDType.Float32;

    /// <summary>
    /// The decoder of the generated graph (<see cref="OnnxDecoder"/>), or of an ONNX graph read from a folder
    /// (<see cref="ConcatDecoder"/>): generate, the agents and serve run it.
    /// </summary>
    public IStepDecoder CreateDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec)
    {
        if (spec.Model.OnnxGraph is null)
        {
            return new OnnxDecoder(backend, options, spec, _log);
        }

        // A graph it did not write (an Optimum folder): run as it is, with a concatenating cache.
        if (OnnxSessionFactory.ProfileKey.IsSet(options.Extra))
        {
            throw HarnessException.BadInput($"--set {OnnxSessionFactory.ProfileKey.Name}=PATH profiles the harness's own graph; "
                + $"{spec.Model.OnnxGraph} is run as it is, without the profiler.");
        }

        return OnnxDecoder.CudaGraph(backend, options)
            ? throw HarnessException.BadInput($"--set {OnnxSessionFactory.CudaGraphKey.Name}=1 captures the harness's own graph; "
                + $"{spec.Model.OnnxGraph} is run as it is, without CUDA graphs.")
            : new ConcatDecoder(backend, options, spec);
    }

    /// <summary>generate over this provider's decoders; --set cuda_graph is checked before anything is generated.</summary>
    private GenerateWorkload Generate(BackendSpec backend, WorkloadOptions options)
    {
        OnnxDecoder.CudaGraph(backend, options);
        return new GenerateWorkload(this, backend, options);
    }

    private static string? TryVersion()
    {
        try
        {
            return OrtEnv.Instance().GetVersionString();
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or OnnxRuntimeException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    private static bool CanLoad(string library)
    {
        if (NativeLibrary.TryLoad(library, out nint handle))
        {
            NativeLibrary.Free(handle);
            return true;
        }

        return false;
    }
}
