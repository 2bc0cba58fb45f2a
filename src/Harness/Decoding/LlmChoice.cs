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

    /// <summary>The backend, parsed where it was given (<see cref="ParseBackend"/>); null for the latency model.</summary>
    public BackendSpec? Spec { get; init; }

    /// <summary>"latency-model" or the backend spec, e.g. "onnx:cpu", as labels and file names show it.</summary>
    public string Backend => Spec?.ToString() ?? LatencyModelBackend;

    /// <summary>For latency-model: the numbers (given, a preset, or read from a result file); null for the default preset.</summary>
    public LatencyModel? Model { get; init; }

    /// <summary>For a backend: model config, dtype, threads, libtorch, and settings such as spin or weight_seed.</summary>
    public WorkloadOptions Options { get; init; } = new();

    public bool IsLatencyModel => Spec is null;

    /// <summary>A server reached over HTTP (<c>openai:URL</c>): it batches on its own, and the agents send it their conversations.</summary>
    public bool IsRemote => Spec?.Target is not null;

    /// <summary><c>--llm</c> or <c>serve --backend</c>: null for latency-model, else a backend spec; anything else is bad input.</summary>
    public static BackendSpec? ParseBackend(string text)
    {
        if (text.Trim() == LatencyModelBackend)
        {
            return null;
        }

        try
        {
            return BackendSpec.Parse(text);
        }
        catch (HarnessException e)
        {
            throw HarnessException.BadInput(
                $"Unknown LLM backend '{text}': use {LatencyModelBackend}, a decoder backend such as onnx:cpu, or openai:URL.", e);
        }
    }

    /// <summary>
    /// The agents' LLM from its options: <c>--llm</c>, the <c>--llm-set</c> pairs (without the agents' own
    /// <c>context</c>), whether <c>context</c> was given, and the latency model's numbers. Each kind of
    /// backend takes only its own options; a mix is bad input.
    /// </summary>
    public static LlmChoice For(
        string backend, IReadOnlyList<KeyValuePair<string, string>> settings, bool contextGiven, LatencyModelOptions numbers)
    {
        BackendSpec? spec = ParseBackend(backend);
        if (spec is not null)
        {
            WorkloadOptions options = numbers.AnyGiven
                ? throw HarnessException.BadInput(
                    $"--llm-ttft-ms, --llm-tpot-ms, --llm-result and --llm-preset are for --llm latency-model, not '{backend}'.")
                : DecoderOptions.FromLlmSettings(settings);
            return spec.Target is null && options.TokenizerPath is not null
                ? throw HarnessException.BadInput(
                    $"--llm-set tokenizer= is for a server (openai:URL); a decoder in this process ('{backend}') takes prompt "
                        + "lengths, not text.")
                : new LlmChoice { Spec = spec, Options = options };
        }

        if (contextGiven)
        {
            throw HarnessException.BadInput("--llm-set context= is for a decoder or a server, not the latency model (no context).");
        }

        if (settings.Count > 0)
        {
            throw HarnessException.BadInput($"--llm-set is for a decoder backend (--llm onnx:cpu, torch:cpu...), not the latency model.");
        }

        return new LlmChoice { Model = numbers.Build() };
    }

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
        BackendSpec spec = Spec ?? throw new InvalidOperationException("the latency model is not a server");
        registry.Resolve(spec);
        IEndpointProvider provider = EndpointBackends.Find(registry, spec)
            ?? throw HarnessException.BadInput($"LLM backend '{Backend}' is not a server the harness can reach; known here: {string.Join(", ", Names(registry))}.");
        return provider.Connect(spec, Options, new EndpointSettings { Clock = clock ?? StopwatchClock.Instance });
    }

    /// <summary>
    /// Builds the decoder (<see cref="BatchDecoder"/> on a backend) with <paramref name="slots"/> rows: sequences
    /// join and leave a running batch, each holding up to <paramref name="context"/> tokens (the model's
    /// max positions when null; <c>serve</c> gives its <c>--max-model-len</c>).
    /// </summary>
    public IStepDecoder CreateDecoder(BackendRegistry registry, int slots, IClock? clock = null, int? context = null)
    {
        if (IsLatencyModel)
        {
            SettingsSchema.None.Check($"LLM backend {LatencyModelBackend}", Options.Extra);
            return new LatencyModelDecoder(Model ?? LatencyModel.H100Llama1B, clock, slots: slots);
        }

        (IDecoderProvider provider, BackendSpec spec, DecoderSpec decoder) = Check(registry, slots, context);
        return provider.CreateDecoder(spec, Options, decoder);
    }

    /// <summary>
    /// What <see cref="CreateDecoder"/> checks before it builds anything: a backend this registry knows,
    /// settings its decoders declare, a model it builds, and weights plus a first cache block of one sequence
    /// that fit the device. Bad input throws; nothing is loaded.
    /// </summary>
    public (IDecoderProvider Provider, BackendSpec Spec, DecoderSpec Decoder) Check(
        BackendRegistry registry, int slots, int? context = null)
    {
        if (Spec is not { } spec || !Names(registry).Contains($"{spec.Runtime}:{spec.Device}", StringComparer.Ordinal))
        {
            throw HarnessException.BadInput($"Unknown LLM backend '{Backend}'; known here: {string.Join(", ", Names(registry))}.");
        }

        // The settings before the device: a mistake in them is the user's whatever this machine has.
        if (registry.Resolve(spec) is IDecoderProvider declared)
        {
            declared.DecoderSettings.Check($"LLM backend {spec}", Options.Extra);
            WeightQuantization.CheckSupported(Options.Quantization, declared.DecoderSettings, $"the LLM backend {spec}");
        }

        IDecoderProvider provider = DecoderBackends.Resolve(registry, spec);
        var decoder = new DecoderSpec
        {
            Model = Options.ModelConfig ?? ModelCatalog.Load(GenerateSettings.DefaultModel),
            DType = Options.DType ?? provider.DefaultDType(spec),
            Quantization = DecoderOptions.Quantization(Options, provider),
            WeightSeed = GenerateSettings.WeightSeedOf(Options.Extra),
            Slots = slots,
            Context = context,
        };
        // The weights and a first block of one sequence (what BatchDecoder.CheckMemory asks): a model the
        // decoders do not build, or that does not fit, is refused before anything is generated or loaded
        // (larger prefills and each growth of the cache are checked again before they are made).
        DeviceMemory memory = DeviceMemory.For(spec.Device, spec.DeviceId);
        int tokens = BatchDecoder.FirstCheckTokens(context ?? decoder.Model.MaxPositions);
        MemoryFit.Check(decoder.Model, 1, tokens, tokens, decoder.DType, memory.AvailableBytes, memory.Name, decoder.Quantization);
        return (provider, spec, decoder);
    }
}
