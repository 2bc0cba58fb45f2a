using Harness.Backends;
using Harness.Measurement;
using Harness.Models;

namespace Harness.Decoding;

/// <summary>
/// Which decoder serves an LLM endpoint, as the command line names it (<c>--llm</c>): the latency
/// model (built in) or a backend whose provider builds decoders (<c>onnx:cpu</c>, <c>torch:cuda</c>...),
/// with its typed options (model config, dtype, threads) and backend settings.
/// </summary>
public sealed record LlmChoice
{
    public const string LatencyModelBackend = "latency-model";

    /// <summary>"latency-model" or a backend spec, e.g. "onnx:cpu".</summary>
    public string Backend { get; init; } = LatencyModelBackend;

    /// <summary>For latency-model: the numbers (given, a preset, or read from a result file); null for the default preset.</summary>
    public LatencyModel? Model { get; init; }

    /// <summary>For a backend: model config, dtype, threads, libtorch, and settings such as spin or weight_seed.</summary>
    public WorkloadOptions Options { get; init; } = new();

    public bool IsLatencyModel => Backend == LatencyModelBackend;

    /// <summary>A server reached over HTTP (<c>openai:URL</c>): it batches on its own, and the agents send it their conversations.</summary>
    public bool IsRemote => Backend.Contains("://", StringComparison.Ordinal);

    /// <summary>An in-process decoder's context: its model's max_positions (the latency model and a server have none known here).</summary>
    public int? DecoderContext => DecoderModel?.MaxPositions;

    /// <summary>The model a decoder backend runs, by name; null for the latency model and a server.</summary>
    public string? DecoderModelName => DecoderModel?.Name;

    private DecoderConfig? DecoderModel =>
        IsLatencyModel || IsRemote ? null : Options.ModelConfig ?? ModelCatalog.Load(GenerateSettings.DefaultModel);

    /// <summary>Every backend that can serve here: the latency model, each decoder backend of the registry, then each endpoint runtime (as runtime:URL).</summary>
    public static IEnumerable<string> Names(BackendRegistry registry) =>
        DecoderBackends.Names(registry).Prepend(LatencyModelBackend).Concat(EndpointBackends.Runtimes(registry).Select(r => $"{r}:URL"));

    /// <summary>Connects to the remote endpoint this choice names (<see cref="IsRemote"/>), with the <c>--llm-set</c> settings as its options.</summary>
    public EndpointConnection Connect(BackendRegistry registry, IClock? clock = null)
    {
        BackendSpec spec = BackendSpec.Parse(Backend);
        registry.Resolve(spec);
        IEndpointProvider provider = EndpointBackends.Find(registry, spec)
            ?? throw HarnessException.BadInput($"LLM backend '{Backend}' is not a server the harness can reach; known here: {string.Join(", ", Names(registry))}.");
        return provider.Connect(spec, Options, new EndpointSettings { Clock = clock ?? StopwatchClock.Instance });
    }

    /// <summary>
    /// Builds the decoder with <paramref name="slots"/> KV-cache slots. Without a
    /// <paramref name="context"/>, a backend's decoder rounds its shapes (<see cref="DecoderShapes.Rounded"/>:
    /// the requests of an endpoint vary in length); with one, each slot holds that many tokens and
    /// sequences join while others decode (<see cref="DecoderShapes.PerSlot"/>, what serving runs).
    /// </summary>
    public IStepDecoder CreateDecoder(BackendRegistry registry, int slots, IClock? clock = null, int? context = null)
    {
        if (IsLatencyModel)
        {
            return new LatencyModelDecoder(Model ?? LatencyModel.H100Llama1B, clock, slots: slots);
        }

        (IDecoderProvider provider, BackendSpec spec, DecoderSpec decoder) = Check(registry, slots, context);
        return provider.CreateDecoder(spec, Options, decoder);
    }

    /// <summary>
    /// What <see cref="CreateDecoder"/> checks before it builds anything: a backend this registry knows,
    /// a model it builds, and weights that fit the device. Bad input throws; nothing is loaded.
    /// </summary>
    public (IDecoderProvider Provider, BackendSpec Spec, DecoderSpec Decoder) Check(
        BackendRegistry registry, int slots, int? context = null)
    {
        BackendSpec? spec = null;
        try
        {
            spec = BackendSpec.Parse(Backend);
            registry.Resolve(spec);
        }
        catch (HarnessException)
        {
            spec = null;
        }

        if (spec is null || !Names(registry).Contains($"{spec.Runtime}:{spec.Device}", StringComparer.Ordinal))
        {
            throw HarnessException.BadInput($"Unknown LLM backend '{Backend}'; known here: {string.Join(", ", Names(registry))}.");
        }

        IDecoderProvider provider = DecoderBackends.Resolve(registry, spec);
        var decoder = new DecoderSpec
        {
            Model = Options.ModelConfig ?? ModelCatalog.Load(GenerateSettings.DefaultModel),
            DType = Options.DType ?? provider.DefaultDType(spec),
            WeightSeed = GenerateSettings.WeightSeedOf(Options.Extra),
            Slots = slots,
            Shapes = context is null ? DecoderShapes.Rounded : DecoderShapes.PerSlot,
            Context = context,
        };
        // The smallest shape first: a model the decoders do not build, or whose weights do not fit, is
        // refused before anything is generated or loaded (each batch's shape is checked when it is built).
        DeviceMemory memory = DeviceMemory.For(spec.Device, spec.DeviceId);
        MemoryFit.Check(decoder.Model, 1, 1, 1, decoder.DType, memory.AvailableBytes, memory.Name);
        return (provider, spec, decoder);
    }
}
