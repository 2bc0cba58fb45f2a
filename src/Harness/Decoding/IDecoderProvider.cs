using Harness.Backends;

namespace Harness.Decoding;

/// <summary>
/// A backend provider that builds step-level decoders (ONNX Runtime, TorchSharp): <c>generate</c>,
/// the agents' LLM and, later, <c>harness serve</c> take their decoders from it, through the one
/// <see cref="BackendRegistry"/>.
/// </summary>
public interface IDecoderProvider
{
    /// <summary>The element type a decoder runs in on this backend unless <c>--dtype</c> says otherwise.</summary>
    TensorDType DefaultDType(BackendSpec backend);

    /// <summary>
    /// The <c>--set</c> keys its decoders read (spin, weight_seed...): <c>serve --set</c> and
    /// <c>--llm-set</c> are checked against them.
    /// </summary>
    SettingsSchema DecoderSettings { get; }

    /// <summary>
    /// True where a model file's tensors run as stored (llama.cpp), so a step streams the file's bytes per weight
    /// (q4_0's 4.5 bits), not the run's dtype's; false where the loader converts them to the dtype.
    /// </summary>
    bool RunsFileWeightsAsStored => false;

    /// <summary>
    /// Builds the decoder (generates or loads the model, allocates its weights); called after the
    /// memory check. Bad options or an unusable device throw <see cref="HarnessException"/>.
    /// </summary>
    IStepDecoder CreateDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec);
}

/// <summary>Decoders from the registry's providers.</summary>
public static class DecoderBackends
{
    /// <summary>The backends whose providers build decoders, e.g. "onnx:cpu", "torch:cuda".</summary>
    public static IEnumerable<string> Names(BackendRegistry registry) =>
        registry.Providers.Where(p => p is IDecoderProvider).SelectMany(p => p.Devices.Select(d => $"{p.Runtime}:{d}"));

    /// <summary>The decoder provider of <paramref name="backend"/>, after checking that the device is usable here.</summary>
    public static IDecoderProvider Resolve(BackendRegistry registry, BackendSpec backend)
    {
        IBackendProvider provider = registry.Resolve(backend);
        if (provider is not IDecoderProvider decoders)
        {
            throw HarnessException.BadInput($"Backend {backend.Runtime} has no decoder; decoders run on {string.Join(", ", Names(registry))}.");
        }

        DoctorCheck device = provider.CheckDevice(backend.Device);
        return device.Ok ? decoders : throw HarnessException.BadInput($"Backend {backend} is not usable here: {device.Detail}");
    }
}
