using Harness.Backends;
using Harness.Decoding;
using Harness.Decoding.Sampling;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Models;
using Harness.Onnx.Cuda;
using Harness.Onnx.Profiling;
using Harness.Onnx.Sampling;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Onnx.Decoder;

/// <summary>
/// ONNX Runtime's one decoder (<see cref="BatchDecoder"/>): the generated graph (<see cref="DecoderGraph"/>)
/// over a KV cache of [rows, kv_heads, tokens, head_dim] per layer (<see cref="KvCache"/>) that every
/// run binds as both past and present, so GroupQueryAttention writes the new positions in place.
/// <list type="bullet">
/// <item>A prefill binds the joiners' rows: their prompts right-padded to the longest in input_ids,
/// each row's length - 1 in seqlens_k and last_index (the graph takes each row's logits there), and
/// total_sequence_length = the longest prompt (GQA's first prompt, right padding allowed).</item>
/// <item>A decode step binds rows 0 to live - 1, each row's length in seqlens_k (GQA reads each row's
/// cache up to it and takes Llama's rotary positions from it) and, for GPT-2, in position_ids.</item>
/// </list>
/// The decode bindings (one per row count) and their cache views are built when first used and
/// rebuilt only when the cache is resized; a decode step allocates nothing on the managed side, and
/// on CUDA its only transfers are one host-to-device copy of the step inputs and one device-to-host
/// copy of the next tokens. With <c>--set cuda_graph=1</c> (onnx:cuda) the cache is fixed at
/// slots x context, total_sequence_length of a decode step is the cache length (lengths travel in
/// seqlens_k), and each row count's decode step is captured as its own CUDA graph
/// (<c>gpu_graph_id</c> = rows) and replayed; prefill is never captured. A run that ONNX Runtime
/// refuses is one sentence (exit 2). With <c>--set ort_profile=PATH</c> ONNX Runtime's profiler runs over the
/// session, and the decode steps and prefills of the measured window (the phases heard as an <see cref="IRunObserver"/>)
/// are summarised when the decoder is disposed (<see cref="DecoderProfile"/>).
/// </summary>
public sealed class OnnxDecoder : BatchDecoder, IRunObserver
{
    // Segments of the input blocks: ids, positions (int64), seqlens_k (int32), last_index (int64).
    private const int Ids = 0, Positions = 1, SeqLens = 2, LastIndex = 3;
    // Segments of the output block: next tokens (int64), logits (float32).
    private const int Next = 0, LogitsSegment = 1;

    /// <summary>Prefill bindings kept at most (one per row range of the current cache).</summary>
    private const int MaxPrefillBindings = 64;

    private readonly List<IDisposable> _owned = [];
    private readonly InferenceSession _session;
    private readonly DecoderConfig _c;
    private readonly BackendSpec _backend;
    private readonly WorkloadOptions _options;
    private readonly bool _cuda;
    private readonly bool _gpt2;
    private readonly bool _cudaGraph;
    private readonly bool _fixedShapes;
    private readonly string _what;
    private readonly TextWriter _log;
    private readonly DecoderProfile? _profile;
    private readonly TransferBlock _decodeIn;
    private readonly TransferBlock _out;
    private readonly KvCache _cache;
    private readonly int[] _total = new int[1];
    private readonly OrtValue _totalValue;
    private readonly RunOptions _prefillOptions;
    private readonly RunOptions[] _decodeOptions;
    private readonly OrtIoBinding?[] _decodeBindings;
    private readonly List<OrtValue>?[] _decodeViews;
    private readonly Dictionary<(int FirstRow, int Rows), (OrtIoBinding Binding, List<OrtValue> Views)> _prefillBindings = [];
    private TransferBlock? _prefillIn;
    private long _prefillTokens;
    private bool _profileFinished;
    private LogitSampler? _hostSampler;
    private OnnxSampler? _deviceSampler;

    /// <summary>Generates the graph (or takes it from the cache) and opens its session; the cache is allocated at the first step.</summary>
    public OnnxDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec, TextWriter log)
        : this(backend, options, spec, log, DefaultBlockTokens, fixedShapes: false)
    {
    }

    /// <param name="blockTokens">Tokens the cache grows by at least (small in tests, so that it grows and shrinks).</param>
    /// <param name="fixedShapes">
    /// Decode as under a CUDA graph (a fixed cache, total_sequence_length = its length) without one: for tests on the CPU.
    /// </param>
    internal OnnxDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec, TextWriter log, int blockTokens, bool fixedShapes)
        : base(spec, blockTokens)
    {
        _c = spec.Model;
        _backend = backend;
        _options = options;
        _cuda = backend.Device == "cuda";
        _gpt2 = _c.Architecture == DecoderArchitecture.Gpt2;
        _cudaGraph = CudaGraph(backend, options);
        _fixedShapes = _cudaGraph || fixedShapes;
        _what = $"the generated {_c.Name} graph on {backend}";
        _log = log;
        Name = $"{backend} {_c.Name} {spec.Quantization?.Name ?? spec.DType.ShortName()}";
        if (spec.Quantization is { } quant)
        {
            CheckComputeType(quant, spec.DType, backend);
            quant.CheckFits(_c);
        }

        CheckMemory(DeviceMemory.For(backend.Device, backend.DeviceId));
        string path = DecoderModelCache.GetOrCreate(_c, spec.DType, spec.WeightSeed, log, spec.Quantization);
        _profile = OnnxSessionFactory.ProfileKey.Get(options.Extra) is { } profilePath
            ? new DecoderProfile(profilePath, _c, spec.DType, spec.Quantization)
            : null;
        _session = OnnxSessionFactory.Create(path, backend, options, _cudaGraph, _profile?.RuntimePrefix);
        _decodeBindings = new OrtIoBinding?[Slots + 1];
        _decodeViews = new List<OrtValue>?[Slots + 1];
        _decodeOptions = new RunOptions[Slots + 1];
        try
        {
            int slots = Slots;
            _decodeIn = Own(new TransferBlock(
                _cuda, backend.DeviceId, slots * sizeof(long), slots * sizeof(long), slots * sizeof(int), slots * sizeof(long)));
            _out = Own(new TransferBlock(_cuda, backend.DeviceId, slots * sizeof(long), (long)slots * _c.Vocab * sizeof(float)));
            // total_sequence_length is a CPU input of GroupQueryAttention on every provider: host memory, read live.
            _totalValue = Own(OrtValue.CreateTensorValueFromMemory(_total, [1]));
            _prefillOptions = Own(new RunOptions());
            if (_cudaGraph)
            {
                _prefillOptions.AddRunConfigEntry("gpu_graph_id", "-1");
            }

            RunOptions shared = _cudaGraph ? _prefillOptions : Own(new RunOptions());
            for (int rows = 0; rows <= slots; rows++)
            {
                _decodeOptions[rows] = shared;
            }

            OrtMemoryInfo cacheMemory = _cuda
                ? Own(new OrtMemoryInfo(
                    OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, backend.DeviceId, OrtMemType.Default))
                : OrtMemoryInfo.DefaultInstance;
            _cache = Own(new KvCache(
                _cuda, backend.DeviceId, _c.Layers, _c.KvHeads, _c.HeadDim, spec.DType.Bytes(), ElementType(spec.DType), cacheMemory));
        }
        catch
        {
            Dispose();
            throw;
        }

        var backendDetails = new Dictionary<string, object?>
        {
            [ConfigKeys.ModelPath] = path,
            [ConfigKeys.ExecutionProvider] = _cuda ? "CUDAExecutionProvider" : "CPUExecutionProvider",
            [ConfigKeys.Attention] = "com.microsoft GroupQueryAttention over a KV cache [rows, kv_heads, tokens, head_dim] per layer "
                + "shared by past and present (updated in place), one length per row in seqlens_k; ragged prefills right-padded",
            [ConfigKeys.DecodeShapes] = _fixedShapes
                ? "fixed (total_sequence_length = cache length; lengths in seqlens_k)"
                    + (_cudaGraph ? ", one CUDA graph per row count" : "")
                : "growing (total_sequence_length = the longest row's tokens)",
            [ConfigKeys.CudaGraph] = _cudaGraph,
            [ConfigKeys.OrtProfile] = _profile?.Describe(),
        };
        Details = DescribeBatching(backendDetails);
    }

    public override string Name { get; }

    public override IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary>With CUDA graphs the cache keeps fixed addresses: slots x context, allocated once.</summary>
    protected override bool GrowsCache => !_fixedShapes;

    /// <summary>Logits of the last pass, [rows, vocab], on the host (CPU provider only; for tests).</summary>
    internal ReadOnlySpan<float> LastLogits(int rows) => _cuda ? [] : _out.Host<float>(LogitsSegment)[..(rows * _c.Vocab)];

    /// <summary>
    /// Refuses (exit 2) a quantization the provider has no kernel for at the run's float type: MatMulNBits computes in fp32 or
    /// fp16; MatMulBlockQuantizedFp8Weight in fp16 or bf16 and on CUDA only (a CPU run of fp8 would time fp32 products of
    /// widened weights, not fp8's; <see cref="WeightQuantization.Widened"/> graphs, for accuracy, are the exception).
    /// </summary>
    private static void CheckComputeType(WeightQuantization quant, TensorDType dtype, BackendSpec backend)
    {
        if (!quant.Float8 && dtype == TensorDType.BFloat16)
        {
            throw HarnessException.BadInput($"--dtype {quant.Name} on {backend} computes in fp32 or fp16 (MatMulNBits), not bf16.");
        }

        if (quant.Float8 && !quant.Widened && backend.Device != "cuda")
        {
            throw HarnessException.BadInput($"--dtype fp8 needs onnx:cuda: ONNX Runtime has no CPU kernel for fp8 weights "
                + "(MatMulBlockQuantizedFp8Weight is CUDA's); bench/quant-accuracy.sh states fp8's accuracy on a CPU.");
        }

        if (quant.Float8 && !quant.Widened && dtype == TensorDType.Float32)
        {
            throw HarnessException.BadInput($"--dtype fp8 on {backend} multiplies in fp16 or bf16 activations "
                + "(MatMulBlockQuantizedFp8Weight), not fp32.");
        }
    }

    /// <summary><c>--set cuda_graph=1</c>, checked: only onnx:cuda has CUDA graphs.</summary>
    public static bool CudaGraph(BackendSpec backend, WorkloadOptions options)
    {
        bool cudaGraph = OnnxSessionFactory.CudaGraphKey.Get(options.Extra);
        return cudaGraph && backend.Device != "cuda"
            ? throw HarnessException.BadInput(
                $"--set {OnnxSessionFactory.CudaGraphKey.Name}=1 needs onnx:cuda; {backend} has no CUDA graphs.")
            : cudaGraph;
    }

    /// <summary>The run's phases: the profiler's summary keeps the measured window's runs.</summary>
    public void PhaseStarted(string phase, long timestamp) => _profile?.PhaseStarted(phase);

    public void RequestEnded(RequestOutcome outcome, long latencyTicks, int inputUnits, int outputUnits)
    {
    }

    public override void Dispose()
    {
        FinishProfile();
        // Bindings before the values they bind.
        for (int rows = 0; rows < (_decodeBindings?.Length ?? 0); rows++)
        {
            DropDecodeBinding(rows);
        }

        DropPrefillBindings();

        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        _owned.Clear();
        _prefillIn?.Dispose();
        _prefillIn = null;
        _session?.Dispose();
    }

    protected override void Resize(int rows, int tokens, ReadOnlySpan<int> lengths)
    {
        for (int r = 0; r < _decodeBindings.Length; r++)
        {
            DropDecodeBinding(r);
        }

        DropPrefillBindings();
        _cache.Resize(rows, tokens, lengths);
    }

    protected override void MoveRow(int from, int to, int tokens) => _cache.MoveRow(from, to, tokens);

    protected override void Prefill(StepRows rows)
    {
        int count = rows.Count, longest = rows.LongestPrompt;
        TransferBlock input = PrefillBlock((long)count * longest);
        Span<long> ids = input.Host<long>(Ids)[..(count * longest)];
        Span<long> positions = input.Host<long>(Positions);
        Span<int> seqLens = input.Host<int>(SeqLens);
        Span<long> last = input.Host<long>(LastIndex);
        ids.Clear();
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<long> prompt = rows.Prompt(i);
            prompt.CopyTo(ids.Slice(i * longest, prompt.Length));
            seqLens[i] = prompt.Length - 1;
            last[i] = prompt.Length - 1;
            if (_gpt2)
            {
                for (int s = 0; s < longest; s++)
                {
                    positions[(i * longest) + s] = s;
                }
            }
        }

        _total[0] = longest;
        input.Upload();
        // The cache views and outputs of these rows stay bound from one prefill to the next (until a
        // resize); the inputs, whose shapes follow the prompts, are bound anew (the binding keeps its own reference).
        OrtIoBinding io = PrefillBinding(rows.FirstRow, count);
        using (OrtValue v = input.View(Ids, TensorElementType.Int64, count, longest))
        {
            io.BindInput(DecoderIo.InputIds, v);
        }

        if (_gpt2)
        {
            using OrtValue v = input.View(Positions, TensorElementType.Int64, count, longest);
            io.BindInput(DecoderIo.PositionIds, v);
        }

        using (OrtValue v = input.View(SeqLens, TensorElementType.Int32, count))
        {
            io.BindInput(DecoderIo.SeqLensK, v);
        }

        using (OrtValue v = input.View(LastIndex, TensorElementType.Int64, count))
        {
            io.BindInput(DecoderIo.LastIndex, v);
        }

        _profile?.RunStarting(decode: false);
        Run(io, _prefillOptions, rows);
    }

    protected override void Decode(StepRows rows)
    {
        int count = rows.Count;
        rows.Tokens.CopyTo(_decodeIn.Host<long>(Ids));
        Span<long> pos = _decodeIn.Host<long>(Positions);
        Span<int> seqLens = _decodeIn.Host<int>(SeqLens);
        ReadOnlySpan<int> positions = rows.Positions;
        int longest = 0;
        for (int r = 0; r < count; r++)
        {
            pos[r] = positions[r];
            seqLens[r] = positions[r];
            longest = Math.Max(longest, positions[r]);
        }

        // A captured graph needs the same shapes every replay: the cache length, the lengths in seqlens_k.
        _total[0] = _fixedShapes ? CapacityTokens : longest + 1;
        _decodeIn.Upload();
        OrtIoBinding binding = _decodeBindings[count] ?? BindDecode(count);
        _profile?.RunStarting(decode: true);
        Run(binding, _decodeOptions[count], rows);
    }

    /// <summary>The ONNX element type of a decoder's KV cache in <paramref name="dtype"/>.</summary>
    internal static TensorElementType ElementType(TensorDType dtype) => dtype switch
    {
        TensorDType.Float32 => TensorElementType.Float,
        TensorDType.Float16 => TensorElementType.Float16,
        _ => TensorElementType.BFloat16,
    };

    /// <summary>The binding of a prefill into rows [<paramref name="firstRow"/>, + <paramref name="rows"/>), kept until a resize.</summary>
    private OrtIoBinding PrefillBinding(int firstRow, int rows)
    {
        if (_prefillBindings.TryGetValue((firstRow, rows), out (OrtIoBinding Binding, List<OrtValue> Views) known))
        {
            return known.Binding;
        }

        if (_prefillBindings.Count >= MaxPrefillBindings)
        {
            DropPrefillBindings();
        }

        var values = new List<OrtValue>(2 + (2 * _c.Layers));
        OrtIoBinding io = _session.CreateIoBinding();
        BindCommon(io, firstRow, rows, values);
        _prefillBindings[(firstRow, rows)] = (io, values);
        return io;
    }

    private void DropPrefillBindings()
    {
        foreach ((OrtIoBinding binding, List<OrtValue> views) in _prefillBindings.Values)
        {
            binding.Dispose();
            foreach (OrtValue v in views)
            {
                v.Dispose();
            }
        }

        _prefillBindings.Clear();
    }

    private OrtIoBinding BindDecode(int rows)
    {
        var values = new List<OrtValue>(6 + (2 * _c.Layers));
        OrtIoBinding io = _session.CreateIoBinding();
        values.Add(_decodeIn.View(Ids, TensorElementType.Int64, rows, 1));
        io.BindInput(DecoderIo.InputIds, values[^1]);
        if (_gpt2)
        {
            values.Add(_decodeIn.View(Positions, TensorElementType.Int64, rows, 1));
            io.BindInput(DecoderIo.PositionIds, values[^1]);
        }

        values.Add(_decodeIn.View(SeqLens, TensorElementType.Int32, rows));
        io.BindInput(DecoderIo.SeqLensK, values[^1]);
        values.Add(_decodeIn.View(LastIndex, TensorElementType.Int64, rows));
        io.BindInput(DecoderIo.LastIndex, values[^1]);
        BindCommon(io, 0, rows, values);
        _decodeBindings[rows] = io;
        _decodeViews[rows] = values;
        if (_cudaGraph && rows < _decodeOptions.Length && ReferenceEquals(_decodeOptions[rows], _prefillOptions))
        {
            RunOptions options = Own(new RunOptions());
            options.AddRunConfigEntry("gpu_graph_id", rows.ToString(System.Globalization.CultureInfo.InvariantCulture));
            _decodeOptions[rows] = options;
        }

        return io;
    }

    /// <summary>
    /// Binds total_sequence_length, rows [<paramref name="firstRow"/>, + <paramref name="rows"/>) of every
    /// layer's cache as past and present, and the outputs.
    /// </summary>
    private void BindCommon(OrtIoBinding io, int firstRow, int rows, List<OrtValue> values)
    {
        io.BindInput(DecoderIo.TotalSequenceLength, _totalValue);
        for (int layer = 0; layer < _c.Layers; layer++)
        {
            OrtValue k = _cache.View(layer, value: false, firstRow, rows);
            values.Add(k);
            OrtValue v = _cache.View(layer, value: true, firstRow, rows);
            values.Add(v);
            io.BindInput(DecoderIo.PastKey(layer), k);
            io.BindInput(DecoderIo.PastValue(layer), v);
            io.BindOutput(DecoderIo.PresentKey(layer), k);
            io.BindOutput(DecoderIo.PresentValue(layer), v);
        }

        values.Add(_out.View(Next, TensorElementType.Int64, rows));
        io.BindOutput(DecoderIo.NextToken, values[^1]);
        values.Add(_out.View(LogitsSegment, TensorElementType.Float, rows, _c.Vocab));
        io.BindOutput(DecoderIo.Logits, values[^1]);
    }

    private void DropDecodeBinding(int rows)
    {
        _decodeBindings[rows]?.Dispose();
        _decodeBindings[rows] = null;
        if (_decodeViews[rows] is { } views)
        {
            foreach (OrtValue v in views)
            {
                v.Dispose();
            }

            _decodeViews[rows] = null;
        }
    }

    /// <summary>The prefill's input block, grown (to twice the tokens asked, at most slots x context) when a prefill needs more.</summary>
    private TransferBlock PrefillBlock(long tokens)
    {
        if (_prefillIn is null || tokens > _prefillTokens)
        {
            _prefillIn?.Dispose();
            _prefillIn = null;
            _prefillTokens = Math.Min((long)Slots * Context, Math.Max(tokens, 2 * _prefillTokens));
            _prefillIn = new TransferBlock(
                _cuda,
                _backend.DeviceId,
                _prefillTokens * sizeof(long),
                _prefillTokens * sizeof(long),
                Slots * sizeof(int),
                Slots * sizeof(long));
        }

        return _prefillIn;
    }

    /// <summary>Runs a binding and brings the rows' tokens to <see cref="StepRows.Next"/>.</summary>
    private void Run(OrtIoBinding binding, RunOptions options, StepRows rows)
    {
        try
        {
            _session.RunWithBinding(options, binding);
        }
        catch (OnnxRuntimeException e)
        {
            throw HarnessException.BadInput($"ONNX Runtime could not run {_what}: {OnnxSessionFactory.FirstLine(e.Message)}", e);
        }

        if (_cuda)
        {
            binding.SynchronizeBoundOutputs();
            _out.Download(Next);
        }

        if (!rows.AllPlainGreedy)
        {
            Sample(rows);
            return;
        }

        _out.Host<long>(Next)[..rows.Count].CopyTo(rows.Next);
    }

    /// <summary>
    /// The rows' tokens by their sampling, where the logits are: on the CPU provider the managed
    /// <see cref="LogitSampler"/> over the host logits (faster there than the sampler graph, measured
    /// side by side: docs/decoders.md); on CUDA the sampler graph in its own session on the same
    /// provider, the logits never copied to the host.
    /// </summary>
    private void Sample(StepRows rows)
    {
        int vocab = _c.Vocab;
        if (!_cuda)
        {
            (_hostSampler ??= new LogitSampler(vocab)).Sample(rows, _out.Host<float>(LogitsSegment)[..(rows.Count * vocab)]);
            return;
        }

        _deviceSampler ??= Own(new OnnxSampler(vocab, Slots, _backend, _options));
        using OrtValue logits = _out.View(LogitsSegment, TensorElementType.Float, rows.Count, vocab);
        _deviceSampler.Sample(logits, rows);
    }

    /// <summary>Ends ONNX Runtime's profiler and writes the profile and its summary, once; a failure is a line in the log.</summary>
    private void FinishProfile()
    {
        if (_profile is null || _session is null || _profileFinished)
        {
            return;
        }

        _profileFinished = true;
        try
        {
            string summary = _profile.Finish(_session.EndProfiling());
            _log.WriteLine($"ONNX Runtime profile of {_what}: {summary}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or OnnxRuntimeException)
        {
            _log.WriteLine($"ONNX Runtime profile of {_what} not written: {OnnxSessionFactory.FirstLine(e.Message)}");
        }
    }

    private T Own<T>(T d)
        where T : IDisposable
    {
        _owned.Add(d);
        return d;
    }
}
