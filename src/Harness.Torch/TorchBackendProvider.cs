using Harness.Backends;
using Harness.Decoding;
using Harness.Engine;
using Harness.Models;
using Harness.Torch.Decoder;

namespace Harness.Torch;

/// <summary>TorchSharp as a harness backend: <c>torch:cpu</c> (packaged libtorch) and <c>torch:cuda[:id]</c> (a libtorch folder), and its decoders.</summary>
public sealed class TorchBackendProvider : IBackendProvider, IDecoderProvider
{
    public string Runtime => "torch";

    public IReadOnlyList<string> Devices { get; } = ["cpu", "cuda"];

    private readonly WorkloadTable _workloads;

    public TorchBackendProvider() => _workloads = new WorkloadTable("TorchSharp",
    [
        new(GenerateWorkload.Name,
            "decoder LLM as TorchSharp modules (same seeded weights as onnx): prefill + greedy decode; "
            + "--model-config, --prompt-tokens, --new-tokens, --dtype, --libtorch",
            (b, o) => new GenerateWorkload(this, b, o)) { Settings = GenerateWorkload.Keys(DecoderSettings) },
        new(TorchGemmWorkload.Name,
            "matrix product C = A x B (--set size=N or m/n/k, --dtype): achieved FLOP/s",
            (b, o) => new TorchGemmWorkload(b, o)) { Settings = GemmSettings.Schema.With(RuntimeSettings.Spin) },
        new(TorchCopyWorkload.Name,
            "memory bandwidth, dst.copy_(src) (--set size_mib=N): achieved bytes/s",
            (b, o) => new TorchCopyWorkload(b, o)) { Settings = CopySettings.Schema.With(RuntimeSettings.Spin) },
    ]);

    public IReadOnlyList<WorkloadInfo> Workloads => _workloads.Infos;

    /// <summary>The managed TorchSharp version; reading it loads no native code.</summary>
    public KeyValuePair<string, string?> PackageVersion =>
        new("torchsharp", typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(3));

    /// <summary>
    /// A check that loads nothing (libtorch is loaded by the workload, which knows --libtorch): the
    /// libstdc++ TorchSharp needs, and for CUDA a libtorch folder and a visible GPU.
    /// </summary>
    public DoctorCheck CheckDevice(string device)
    {
        if (!TorchRuntime.LibStdCxxIsRecentEnough())
        {
            return new("torch:" + device, false, $"TorchSharp 0.107 needs GLIBCXX_3.4.32 (GCC 13's libstdc++) and this process has an older one; {TorchCompat.Advice()}");
        }

        if (device == "cuda")
        {
            using var nvml = new Hardware.NvmlLibrary();
            if (nvml.ListGpus().Count == 0)
            {
                return new("torch:cuda", false, $"no NVIDIA GPU is visible ({nvml.UnavailableReason ?? "NVML lists none"}).");
            }
        }

        return new("torch:" + device, true, device == "cuda"
            ? $"libtorch is loaded from --libtorch or {TorchRuntime.LibDirVariable} when the workload starts"
            : "libstdc++ is recent enough; libtorch loads when the workload starts");
    }

    /// <summary>For <c>harness doctor</c>: really loads libtorch (from TORCH_LIB_DIR if set) on each device.</summary>
    public IReadOnlyList<DoctorCheck> Diagnose()
    {
        string? cpu = TorchRuntime.TryEnsure("cpu", null);
        string libtorch = Hardware.LoadedLibraries.PathOf("libtorch_cpu.so") is { } lib ? $" ({lib})" : "";
        var checks = new List<DoctorCheck>
        {
            TorchCompat.Check(),
            new("torch:cpu", cpu is null,
                cpu ?? $"TorchSharp {PackageVersion.Value} with libtorch from {TorchRuntime.LoadedFrom}{libtorch}"),
        };
        if (cpu is null)
        {
            string? cuda = TorchRuntime.TryEnsure("cuda", null);
            checks.Add(new("torch:cuda", cuda is null, cuda ?? $"CUDA available through libtorch from {TorchRuntime.LoadedFrom}"));
        }

        return checks;
    }

    public IWorkload Create(string workload, BackendSpec backend, WorkloadOptions options) => _workloads.Create(workload, backend, options);

    /// <summary>The settings of this backend's decoders: spin (OpenMP's wait policy) and the weights' seed.</summary>
    public SettingsSchema DecoderSettings { get; } = new(RuntimeSettings.Spin, GenerateSettings.WeightSeedKey);

    /// <summary>fp32 on the CPU, bf16 on CUDA.</summary>
    public TensorDType DefaultDType(BackendSpec backend) => backend.Device == "cuda" ? TensorDType.BFloat16 : TensorDType.Float32;

    /// <summary>
    /// The decoder modules over packed rows (<see cref="TorchDecoder"/>), for every use: generate's
    /// batches, the agents' steps and serving.
    /// </summary>
    /// <remarks>
    /// <c>--dtype int8|int4|fp8</c> is refused before this (its schema has no quant_block: WeightQuantization.CheckSupported):
    /// TorchSharp exposes no weight-only int8/int4 matrix product (libtorch's quantized linear is not in its API), and
    /// dequantizing inside the step would measure fp32.
    /// </remarks>
    public IStepDecoder CreateDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec) => new TorchDecoder(backend, options, spec);
}
