using Harness.Backends;
using Harness.Decoding;
using Harness.Engine;

namespace Harness.LlamaCpp;

/// <summary>
/// llama.cpp as a harness backend: <c>llamacpp:cpu</c>, GGUF files through LLamaSharp's bundled CPU build
/// of llama.cpp, in the same runner as onnx and torch (same metrics, validity, telemetry and result
/// file). Its one workload is <c>generate</c>, and its decoder serves the agents and <c>serve</c> too.
/// There is no <c>llamacpp:cuda</c>: only LLamaSharp's CPU backend package is used here.
/// </summary>
public sealed class LlamaCppBackendProvider : IBackendProvider, IDecoderProvider
{
    private readonly WorkloadTable _workloads;

    public LlamaCppBackendProvider() => _workloads = new WorkloadTable("llama.cpp",
    [
        new(GenerateWorkload.Name,
            "decoder LLM from a GGUF file (--model FILE.gguf) through llama.cpp (LLamaSharp's bundled build): "
            + "batched prefill + decode; --prompt-tokens, --new-tokens, --threads, --set spin=0",
            Generate) { Settings = GenerateWorkload.Keys(DecoderSettings) },
    ]);

    public string Runtime => "llamacpp";

    public IReadOnlyList<string> Devices { get; } = ["cpu"];

    public IReadOnlyList<WorkloadInfo> Workloads => _workloads.Infos;

    /// <summary>LLamaSharp's version (its bundled llama.cpp is fixed by it); reading it loads no native code.</summary>
    public KeyValuePair<string, string?> PackageVersion => new("llamasharp", LlamaRuntime.PackageVersion);

    /// <summary>
    /// A check that loads nothing (OpenMP reads <c>--set spin</c> when llama.cpp loads, which the workload does):
    /// llama.cpp's builds in the app's folder and OpenMP's libgomp.so.1 on the system.
    /// </summary>
    public DoctorCheck CheckDevice(string device) => LlamaRuntime.CheckFiles() is { } failure
        ? new("llamacpp:" + device, false, failure)
        : new("llamacpp:" + device, true,
            $"LLamaSharp {LlamaRuntime.PackageVersion}'s llama.cpp builds are here; one loads when the workload starts");

    /// <summary>For <c>harness doctor</c>: really loads llama.cpp; the build it picked, its version, the CPU features it uses.</summary>
    public IReadOnlyList<DoctorCheck> Diagnose() => LlamaRuntime.TryEnsure() is { } failure
        ? [new("llamacpp:cpu", false, failure)]
        : [new("llamacpp:cpu", true, $"{LlamaRuntime.Version()} ({LlamaRuntime.Variant} build, {LlamaRuntime.LibraryPath}); "
            + LlamaRuntime.SystemInfo())];

    public IWorkload Create(string workload, BackendSpec backend, WorkloadOptions options) => _workloads.Create(workload, backend, options);

    /// <summary>Its decoders' one key: spin (OpenMP's wait policy); the weights come from the file, threads from --threads.</summary>
    public SettingsSchema DecoderSettings { get; } = new(RuntimeSettings.Spin);

    /// <summary>fp32; a run takes its GGUF file's type instead (<see cref="GgufWeights.RunDType"/>).</summary>
    public TensorDType DefaultDType(BackendSpec backend) => TensorDType.Float32;

    /// <summary>llama.cpp computes with the GGUF file's blocks as they are.</summary>
    public bool RunsFileWeightsAsStored => true;

    /// <summary>The llama.cpp decoder over the model's GGUF file; anything but a GGUF file is refused by name.</summary>
    public IStepDecoder CreateDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec)
    {
        GgufWeights weights = GgufWeights.Of(spec.Model);
        return new LlamaCppDecoder(backend, options, spec with { DType = weights.RunDType(options.DType) }, weights);
    }

    /// <summary>generate over a GGUF file, in the file's dtype: a model that is not one is refused before anything is loaded.</summary>
    private GenerateWorkload Generate(BackendSpec backend, WorkloadOptions options)
    {
        GgufWeights weights = GgufWeights.Of(options.ModelConfig);
        return new GenerateWorkload(this, backend, options with { DType = weights.RunDType(options.DType) });
    }
}
