using Harness.Backends;
using Harness.Decoding.Sampling;
using Harness.Engine;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Models;

namespace Harness.Decoding;

/// <summary>
/// <c>generate</c>, on any backend that builds decoders: one request = the batch's sequences join
/// one iteration (<c>--batch B</c>: B sequences prefilled together in one call, the first tokens),
/// then decode one token per iteration until each has its new tokens, every iteration's tokens
/// read on the host and marked (TTFT, ITL, TPOT). The decoder is the one every other path runs
/// (a <see cref="BatchDecoder"/> on a backend), with a context of prompt plus new tokens; its
/// cache keeps its size from one request to the next, and its peak goes into the result. The decoder comes from the backend's <see cref="IDecoderProvider"/>; the
/// memory check runs first, so a model that does not fit is refused before anything is generated
/// or allocated. Over a request-level endpoint (an HTTP server) <c>generate</c> is another class, the
/// endpoint provider's own, which sends one request per dataset item under any scenario
/// (<see cref="EndpointRequests"/>); the two share the name. A decoder that watches the run's phases (an
/// <see cref="IRunObserver"/>: ONNX Runtime's profiler keeps the measured window) hears them through this workload.
/// </summary>
public sealed class GenerateWorkload : IWorkload, IDerivedMetrics, IRunObserver
{
    public const string Name = "generate";

    /// <summary>Decode steps run in <see cref="Prepare"/> at most (so that a CUDA graph is captured: ONNX Runtime captures on the run after its warm-up run).</summary>
    private const int WarmupSteps = 3;

    private static readonly DecodeSequence[] None = [];

    private readonly IDecoderProvider _provider;
    private readonly BackendSpec _backend;
    private readonly WorkloadOptions _options;
    private IStepDecoder? _decoder;
    private long[] _prompt = [];
    private long[][] _generated = [];
    private int _batch;
    private int _runSeed;
    private DeviceMemory? _memory;
    private Dictionary<string, object?>? _details;
    private long _peak;

    public GenerateWorkload(IDecoderProvider provider, BackendSpec backend, WorkloadOptions options)
    {
        _provider = provider;
        _backend = backend;
        _options = options;
        Settings = GenerateSettings.From(options.ModelConfig, options.PromptTokens, options.NewTokens, options.DType ?? provider.DefaultDType(backend), options.Extra,
            DecoderOptions.Quantization(options, provider));
        if (provider.RunsFileWeightsAsStored && options.ModelConfig?.WeightsPath is { } file && File.Exists(file))
        {
            Settings = Settings with { StoredBytesPerWeight = Models.Formats.ModelFiles.StoredBytesPerWeight(file) };
        }
        else if (Settings.Quantization is { } q && Settings.Model.WeightsPath is { } gguf && File.Exists(gguf))
        {
            // A GGUF file's matrices in MatMulNBits: the bytes of the layouts its types map to (q4_K's zero points, q6_K's blocks of 16).
            Settings = Settings with
            {
                StoredBytesPerWeight = Models.Formats.ModelFiles.MappedBytesPerWeight(Settings.Model, q, Settings.DType.Bytes() * 8),
            };
        }

        RunSampling = SamplingSettings.From(options.Extra);
    }

    /// <summary>How the sequences pick their tokens (<c>--set temperature=...</c>; greedy by default), before each one's seed.</summary>
    public SamplingParams RunSampling { get; }

    /// <summary>The <c>--set</c> keys of generate on a backend whose decoders take <paramref name="decoder"/>.</summary>
    public static SettingsSchema Keys(SettingsSchema decoder) => decoder.With([GenerateSettings.CeilingsKey, .. SamplingSettings.Keys]);

    /// <summary>
    /// The sampling of sequence <paramref name="sequence"/>: seeded from the run's seed and its index
    /// (after <see cref="Prepare"/>).
    /// </summary>
    public SamplingParams Sampling(int sequence) =>
        RunSampling.IsPlainGreedy ? RunSampling : RunSampling.ForSequence(_runSeed, sequence);

    /// <summary>The decoder run's settings.</summary>
    public GenerateSettings Settings { get; }

    /// <summary>The prompt ids of sequence <paramref name="sequence"/> (after <see cref="Prepare"/>).</summary>
    public ReadOnlyMemory<long> Prompt(int sequence) => _prompt.AsMemory(sequence * Settings.PromptTokens, Settings.PromptTokens);

    /// <summary>
    /// The ids sequence <paramref name="sequence"/> generated in the last request (what serving the
    /// same prompt and seed must give).
    /// </summary>
    public IReadOnlyList<long> Generated(int sequence) => _generated[sequence];

    /// <summary>Where the device's memory is read from; tests give a fixed one.</summary>
    public Func<BackendSpec, DeviceMemory> Memory { get; init; } = b => DeviceMemory.For(b.Device, b.DeviceId);

    public WorkloadDescription Prepare(WorkloadContext context)
    {
        GenerateSettings.RequireOneWorker(context);
        _batch = context.Batch;
        GenerateSettings s = Settings;
        _memory = Memory(_backend);
        MemoryNeed need = MemoryFit.Check(
            s.Model, _batch, s.PromptTokens, s.MaxContext, s.DType, _memory.AvailableBytes, _memory.Name, s.Quantization);
        // Loading is its own measured phase: weights generated or read, graph or modules built, session opened.
        var load = System.Diagnostics.Stopwatch.StartNew();
        var spec = new DecoderSpec
        {
            Model = s.Model, DType = s.DType, Quantization = s.Quantization, WeightSeed = s.WeightSeed, Slots = _batch, Context = s.MaxContext,
        };
        _decoder = _provider.CreateDecoder(_backend, _options, spec);
        double loadSeconds = load.Elapsed.TotalSeconds;
        long? loadPeakRss = Harness.Hardware.ProcessMemory.PeakResidentBytes();
        _prompt = s.Prompt(_batch, context.Seed);
        _runSeed = context.Seed;
        // One request cut short, so that the shapes are built (and a CUDA graph captured) and any failure shows here, before anything is measured.
        Run(Math.Min(WarmupSteps + 1, s.NewTokens), null, context.CancellationToken);

        Dictionary<string, object?> details = s.Details(_batch);
        foreach ((string k, object? v) in _decoder.Details)
        {
            details[k] = v;
        }

        details[ConfigKeys.LoadSeconds] = loadSeconds;
        details[ConfigKeys.LoadPeakRssBytes] = loadPeakRss;
        details[ConfigKeys.Sampling] = RunSampling.Describe();
        details[ConfigKeys.MemoryEstimateBytes] = need.Total;
        details[ConfigKeys.DeviceMemoryBytes] = _memory.AvailableBytes;
        _details = details;
        RecordPeak();
        return new WorkloadDescription("tokens", _batch * s.PromptTokens, _batch * s.NewTokens, details);
    }

    public void Execute(RequestContext request)
    {
        Run(Settings.NewTokens, request, request.CancellationToken);
        RecordPeak();
    }

    public IReadOnlyList<DerivedMetric> Derive(EngineResult run) =>
        DecoderMetrics.Derive(run, Settings, _batch, PeakRates.ForGpu(_memory?.GpuName, Settings.DType), PeakRates.Measured(Settings.CeilingFiles));

    public void Dispose() => _decoder?.Dispose();

    public void PhaseStarted(string phase, long timestamp) => (_decoder as IRunObserver)?.PhaseStarted(phase, timestamp);

    public void RequestEnded(RequestOutcome outcome, long latencyTicks, int inputUnits, int outputUnits) =>
        (_decoder as IRunObserver)?.RequestEnded(outcome, latencyTicks, inputUnits, outputUnits);

    /// <summary>One request's sequences, stopped after <paramref name="tokens"/> of their new tokens (all of them when measured).</summary>
    private void Run(int tokens, RequestContext? request, CancellationToken cancellationToken)
    {
        IStepDecoder decoder = _decoder!;
        int p = Settings.PromptTokens;
        var sequences = new DecodeSequence[_batch];
        if (_generated.Length != _batch)
        {
            _generated = new long[_batch][];
        }

        for (int b = 0; b < _batch; b++)
        {
            sequences[b] = new DecodeSequence(b, p, Settings.NewTokens, _prompt.AsMemory(b * p, p), Sampling(b));
            _generated[b] = new long[tokens];
        }

        try
        {
            decoder.Step(sequences, None, cancellationToken);
            request?.MarkToken(_batch);
            Record(sequences, 0);
            for (int i = 1; i < tokens; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                decoder.Step(None, sequences, cancellationToken);
                request?.MarkToken(_batch);
                Record(sequences, i);
            }
        }
        finally
        {
            // The last row first: no row of a leaving sequence is moved into a lower one.
            for (int b = sequences.Length - 1; b >= 0; b--)
            {
                decoder.Release(sequences[b]);
            }
        }
    }

    /// <summary>The cache's peak so far into the result's config (read when the result is built, after the last request).</summary>
    private void RecordPeak()
    {
        if (_decoder is BatchDecoder b && _details is not null && b.PeakCacheTokens != _peak)
        {
            _peak = b.PeakCacheTokens;
            _details[ConfigKeys.PeakCacheTokens] = _peak;
        }
    }

    private void Record(DecodeSequence[] sequences, int index)
    {
        for (int b = 0; b < sequences.Length; b++)
        {
            _generated[b][index] = sequences[b].LastToken;
        }
    }
}
