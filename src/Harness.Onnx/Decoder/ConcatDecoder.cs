using System.Runtime.InteropServices;
using Harness.Backends;
using Harness.Decoding;
using Harness.Decoding.Sampling;
using Harness.Metrics;
using Harness.Models;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Onnx.Decoder;

/// <summary>
/// ONNX Runtime's decoder of a graph it did not write (<c>--model DIR</c>, an Optimum folder's
/// model.onnx), run as it is: its inputs and outputs are found by their conventional names
/// (input_ids, attention_mask, position_ids if it has one, past_key_values.N.key/value; logits,
/// present.N.key/value) and anything else is refused by name, as is a graph without a cache
/// (no past_key_values) or one of onnxruntime-genai's GroupQueryAttention graphs (seqlens_k).
/// The present is the past with the new positions concatenated (<see cref="ConcatKvCache"/>: rows
/// share one timeline, masked per row by attention_mask). A prefill runs the joiners alone from an
/// empty past, their prompts right-padded to the longest (padding masked, each row's logits taken at
/// its last prompt position); a decode step feeds each row's token at its own position (position_ids)
/// at the end of the shared timeline. Tokens are sampled on the host (<see cref="LogitSampler"/>;
/// greedy is its argmax).
/// </summary>
public sealed class ConcatDecoder : BatchDecoder
{
    private readonly InferenceSession _session;
    private readonly DecoderConfig _c;
    private readonly string _graph;
    private readonly int _layers;
    private readonly bool _positionIds;
    private readonly bool _halfLogits;
    private readonly ConcatKvCache _cache;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly LogitSampler _sampler;
    private readonly long[] _ids;
    private readonly long[] _positions;
    private readonly int[] _lengths;
    private readonly float[] _logits;
    private long[] _mask = [];
    private long[] _prefillIds = [];
    private long[] _prefillPositions = [];
    private IntPtr _decodeLogits;

    /// <summary>Opens the graph's session and checks its inputs and outputs; the cache is allocated at the first step.</summary>
    public ConcatDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec)
        : this(backend, options, spec, DefaultBlockTokens)
    {
    }

    /// <param name="blockTokens">Tokens the cache grows by at least (small in tests, so that it grows, shrinks and packs).</param>
    internal ConcatDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec, int blockTokens)
        : base(spec, blockTokens)
    {
        _c = spec.Model;
        _graph = _c.OnnxGraph ?? throw new ArgumentException("The model has no ONNX graph.", nameof(spec));
        if (spec.Quantization is { } q)
        {
            throw HarnessException.BadInput($"{_graph} runs as it is, so its weights cannot be quantized to {q.Name}; leave --dtype "
                + "int8|int4|fp8 out, or give a Hugging Face folder or a GGUF file.");
        }

        Name = $"{backend} {_c.Name} {spec.DType.ShortName()} (ONNX graph)";
        CheckMemory(DeviceMemory.For(backend.Device, backend.DeviceId));
        _session = OnnxSessionFactory.Create(_graph, backend, options);
        try
        {
            (_layers, _positionIds, TensorElementType kvType, int kvHeads, int headDim, _halfLogits) = Inspect(spec.DType);
            _cache = new ConcatKvCache(Slots, _layers, kvHeads, headDim, kvType == TensorElementType.Float ? 4 : 2, kvType);
            _binding = _session.CreateIoBinding();
        }
        catch
        {
            _session.Dispose();
            throw;
        }

        _sampler = new LogitSampler(_c.Vocab);
        _ids = new long[Slots];
        _positions = new long[Slots];
        _lengths = new int[Slots];
        _logits = new float[(long)Slots * _c.Vocab];
        bool cuda = backend.Device == "cuda";
        Details = DescribeBatching(new Dictionary<string, object?>
        {
            [ConfigKeys.ModelPath] = _graph,
            [ConfigKeys.ExecutionProvider] = cuda ? "CUDAExecutionProvider" : "CPUExecutionProvider",
            [ConfigKeys.Attention] = "the graph's own (an ONNX decoder run as it is): each step's present is the past with the new "
                + "positions concatenated; rows share one timeline masked per row by attention_mask, ragged prefills right-padded; "
                + "the cache double-buffered in host memory" + (cuda ? " (copied to and from the device each step)" : "")
                + ", packed when it fills",
            [ConfigKeys.DecodeShapes] = "growing (the past's length is the shared timeline)",
            [ConfigKeys.CudaGraph] = false,
        });
    }

    public override string Name { get; }

    public override IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary>Logits of the last pass, [rows, vocab] (for tests).</summary>
    internal ReadOnlySpan<float> LastLogits(int rows) => _logits.AsSpan(0, rows * _c.Vocab);

    public override void Dispose()
    {
        _binding?.Dispose();
        _runOptions.Dispose();
        _cache?.Dispose();
        FreeDecodeLogits();
        _session?.Dispose();
    }

    protected override void Resize(int rows, int tokens, ReadOnlySpan<int> lengths)
    {
        _cache.Resize(lengths.Length, rows, tokens);
    }

    protected override void MoveRow(int from, int to, int tokens) => _cache.MoveRow(from, to);

    protected override void Prefill(StepRows rows)
    {
        int count = rows.Count, longest = rows.LongestPrompt;
        int n = count * longest;
        Grow(ref _prefillIds, n);
        Grow(ref _prefillPositions, n);
        Grow(ref _mask, n);
        Span<long> ids = _prefillIds.AsSpan(0, n), positions = _prefillPositions.AsSpan(0, n), mask = _mask.AsSpan(0, n);
        ids.Clear();
        mask.Clear();
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<long> prompt = rows.Prompt(i);
            _lengths[i] = prompt.Length;
            prompt.CopyTo(ids.Slice(i * longest, prompt.Length));
            mask.Slice(i * longest, prompt.Length).Fill(1);
            for (int s = 0; s < longest; s++)
            {
                positions[(i * longest) + s] = s;
            }
        }

        using var values = new DisposableList();
        _binding.ClearBoundInputs();
        _binding.ClearBoundOutputs();
        Bind(values, DecoderIo.InputIds, Host(_prefillIds, n, count, longest));
        Bind(values, OptimumIo.AttentionMask, Host(_mask, n, count, longest));
        if (_positionIds)
        {
            Bind(values, DecoderIo.PositionIds, Host(_prefillPositions, n, count, longest));
        }

        for (int layer = 0; layer < _layers; layer++)
        {
            Bind(values, DecoderIo.PastKey(layer), _cache.Past(layer, value: false, count, empty: true));
            Bind(values, DecoderIo.PastValue(layer), _cache.Past(layer, value: true, count, empty: true));
        }

        // Outputs where ONNX Runtime allocates them: the presents are copied into the cache, and each row's last logits out.
        _binding.BindOutputToDevice(OptimumIo.Logits, OrtMemoryInfo.DefaultInstance);
        for (int layer = 0; layer < _layers; layer++)
        {
            _binding.BindOutputToDevice(DecoderIo.PresentKey(layer), OrtMemoryInfo.DefaultInstance);
            _binding.BindOutputToDevice(DecoderIo.PresentValue(layer), OrtMemoryInfo.DefaultInstance);
        }

        Run();
        using IDisposableReadOnlyCollection<OrtValue> outputs = _binding.GetOutputValues();
        _cache.Join(
            rows.FirstRow, longest, _lengths.AsSpan(0, count), (layer, value) => DataOf(outputs[1 + (2 * layer) + (value ? 1 : 0)]));
        IntPtr logits = DataOf(outputs[0]);
        int vocab = _c.Vocab;
        for (int i = 0; i < count; i++)
        {
            CopyLogits(logits, ((long)(i * longest) + _lengths[i] - 1) * vocab, i);
        }

        _sampler.Sample(rows, _logits.AsSpan(0, count * vocab));
    }

    protected override void Decode(StepRows rows)
    {
        int count = rows.Count;
        ReadOnlySpan<int> positions = rows.Positions;
        for (int r = 0; r < count; r++)
        {
            // A full row decodes at its last position again (BatchDecoder): its last token gives way to the new one.
            if (positions[r] < _cache.Valid(r))
            {
                _cache.DropLast(r);
            }
        }

        _cache.BeginDecode(count);
        int total = _cache.Timeline + 1;
        Grow(ref _mask, count * total);
        for (int r = 0; r < count; r++)
        {
            _ids[r] = rows.Tokens[r];
            _positions[r] = positions[r];
            _cache.WriteDecodeMask(r, _mask.AsSpan(r * total, total));
        }

        int vocab = _c.Vocab;
        if (_decodeLogits == IntPtr.Zero)
        {
            _decodeLogits = AllocateLogits((long)Slots * vocab);
        }

        using var values = new DisposableList();
        _binding.ClearBoundInputs();
        _binding.ClearBoundOutputs();
        Bind(values, DecoderIo.InputIds, Host(_ids, count, count, 1));
        Bind(values, OptimumIo.AttentionMask,
            Host(_mask, count * total, count, total));
        if (_positionIds)
        {
            Bind(values, DecoderIo.PositionIds,
                Host(_positions, count, count, 1));
        }

        for (int layer = 0; layer < _layers; layer++)
        {
            Bind(values, DecoderIo.PastKey(layer), _cache.Past(layer, value: false, count));
            Bind(values, DecoderIo.PastValue(layer), _cache.Past(layer, value: true, count));
            BindOutput(values, DecoderIo.PresentKey(layer), _cache.Present(layer, value: false, count));
            BindOutput(values, DecoderIo.PresentValue(layer), _cache.Present(layer, value: true, count));
        }

        TensorElementType logitsType = _halfLogits ? TensorElementType.Float16 : TensorElementType.Float;
        BindOutput(values, OptimumIo.Logits, OrtValue.CreateTensorValueWithData(
            OrtMemoryInfo.DefaultInstance, logitsType, [count, 1, vocab], _decodeLogits, (long)count * vocab * (_halfLogits ? 2 : 4)));
        Run();
        _cache.EndDecode();
        for (int r = 0; r < count; r++)
        {
            CopyLogits(_decodeLogits, (long)r * vocab, r);
        }

        _sampler.Sample(rows, _logits.AsSpan(0, count * vocab));
    }

    /// <summary>The first <paramref name="length"/> elements of a host array as an int64 tensor of [rows, columns].</summary>
    private static OrtValue Host(long[] data, int length, int rows, int columns) =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data.AsMemory(0, length), [rows, columns]);

    private static void Grow(ref long[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new long[Math.Max(length, 2 * buffer.Length)];
        }
    }

    private static unsafe IntPtr DataOf(OrtValue value)
    {
        Span<byte> data = value.GetTensorMutableRawData();
        fixed (byte* p = data)
        {
            return (IntPtr)p;
        }
    }

    /// <summary>Checks the graph's inputs and outputs by name; returns what the decoder needs to know of it.</summary>
    private (int Layers, bool PositionIds, TensorElementType KvType, int KvHeads, int HeadDim, bool HalfLogits) Inspect(TensorDType dtype)
    {
        IReadOnlyDictionary<string, NodeMetadata> inputs = _session.InputMetadata;
        IReadOnlyDictionary<string, NodeMetadata> outputs = _session.OutputMetadata;
        string Refuse(string what) => throw HarnessException.BadInput($"Model file '{_graph}' {what}.");
        if (OptimumIo.GroupQueryAttentionInputs.FirstOrDefault(inputs.ContainsKey) is { } gqa)
        {
            Refuse($"has input '{gqa}' (onnxruntime-genai's GroupQueryAttention layout, which shares past and present); the harness "
                + $"drives Optimum's layout, whose present is the past concatenated with the new positions");
        }

        int layers = 0;
        while (inputs.ContainsKey(DecoderIo.PastKey(layers)))
        {
            layers++;
        }

        if (layers == 0)
        {
            Refuse("has no past_key_values.0.key input: a decoder without a KV cache, which the harness does not drive (export it "
                + "with past: text-generation-with-past)");
        }

        if (layers != _c.Layers)
        {
            Refuse($"has {layers} layers of past_key_values, but its config.json has {_c.Layers}");
        }

        var known = new HashSet<string>(StringComparer.Ordinal) { DecoderIo.InputIds, OptimumIo.AttentionMask, DecoderIo.PositionIds };
        foreach (string name in new[] { DecoderIo.InputIds, OptimumIo.AttentionMask })
        {
            if (!inputs.ContainsKey(name))
            {
                Refuse($"has no input '{name}'");
            }
        }

        if (!outputs.ContainsKey(OptimumIo.Logits))
        {
            Refuse($"has no output '{OptimumIo.Logits}'");
        }

        NodeMetadata past = inputs[DecoderIo.PastKey(0)];
        for (int i = 0; i < layers; i++)
        {
            foreach ((string input, string output) in new[]
            {
                (DecoderIo.PastKey(i), DecoderIo.PresentKey(i)), (DecoderIo.PastValue(i), DecoderIo.PresentValue(i)),
            })
            {
                if (!inputs.ContainsKey(input) || !outputs.ContainsKey(output))
                {
                    Refuse($"has no {(inputs.ContainsKey(input) ? "output" : "input")} '{(inputs.ContainsKey(input) ? output : input)}'");
                }

                known.Add(input);
            }
        }

        if (inputs.Keys.FirstOrDefault(k => !known.Contains(k)) is { } unknown)
        {
            Refuse($"has input '{unknown}', which the harness does not drive (it feeds input_ids, attention_mask, position_ids and "
                + "past_key_values.N.key/value)");
        }

        TensorElementType kvType = past.ElementDataType;
        TensorDType graphType = kvType switch
        {
            TensorElementType.Float => TensorDType.Float32,
            TensorElementType.Float16 => TensorDType.Float16,
            TensorElementType.BFloat16 => TensorDType.BFloat16,
            _ => TensorDType.Float32,
        };
        if (kvType is not (TensorElementType.Float or TensorElementType.Float16 or TensorElementType.BFloat16))
        {
            Refuse($"has a {kvType} KV cache; the harness drives float32, float16 and bfloat16");
        }

        if (graphType != dtype)
        {
            Refuse($"keeps its KV cache in {graphType.ShortName()}: run it with --dtype {graphType.ShortName()}");
        }

        int[] dims = past.Dimensions;
        int kvHeads = dims.Length == 4 && dims[1] > 0 ? dims[1] : _c.KvHeads;
        int headDim = dims.Length == 4 && dims[3] > 0 ? dims[3] : _c.HeadDim;
        if (dims.Length != 4 || kvHeads != _c.KvHeads || headDim != _c.HeadDim)
        {
            Refuse($"has past_key_values of [{string.Join(", ", dims)}], not [batch, {_c.KvHeads}, past, {_c.HeadDim}] as its config.json "
                + "says");
        }

        TensorElementType logits = outputs[OptimumIo.Logits].ElementDataType;
        if (logits is not (TensorElementType.Float or TensorElementType.Float16))
        {
            Refuse($"has {logits} logits; the harness reads float32 and float16");
        }

        return (layers, inputs.ContainsKey(DecoderIo.PositionIds), kvType, kvHeads, headDim, logits == TensorElementType.Float16);
    }

    private void Bind(DisposableList values, string name, OrtValue value)
    {
        values.Add(value);
        _binding.BindInput(name, value);
    }

    private void BindOutput(DisposableList values, string name, OrtValue value)
    {
        values.Add(value);
        _binding.BindOutput(name, value);
    }

    private void Run()
    {
        try
        {
            _session.RunWithBinding(_runOptions, _binding);
        }
        catch (OnnxRuntimeException e)
        {
            throw HarnessException.BadInput(
                $"ONNX Runtime could not run the graph '{_graph}': {OnnxSessionFactory.FirstLine(e.Message)}", e);
        }
    }

    /// <summary>Copies one row of logits (float or float16, from element <paramref name="offset"/>) into the host logits.</summary>
    private unsafe void CopyLogits(IntPtr source, long offset, int row)
    {
        int vocab = _c.Vocab;
        Span<float> target = _logits.AsSpan(row * vocab, vocab);
        if (_halfLogits)
        {
            var half = new ReadOnlySpan<Half>((Half*)source + offset, vocab);
            for (int j = 0; j < vocab; j++)
            {
                target[j] = (float)half[j];
            }

            return;
        }

        new ReadOnlySpan<float>((float*)source + offset, vocab).CopyTo(target);
    }

    private unsafe IntPtr AllocateLogits(long elements) => (IntPtr)NativeMemory.AlignedAlloc((nuint)(elements * (_halfLogits ? 2 : 4)), 64);

    private unsafe void FreeDecodeLogits()
    {
        if (_decodeLogits != IntPtr.Zero)
        {
            NativeMemory.AlignedFree((void*)_decodeLogits);
            _decodeLogits = IntPtr.Zero;
        }
    }

    /// <summary>The values of one pass, disposed after it (the binding keeps its own references while it runs).</summary>
    private sealed class DisposableList : List<OrtValue>, IDisposable
    {
        public void Dispose()
        {
            foreach (OrtValue v in this)
            {
                v.Dispose();
            }
        }
    }
}
