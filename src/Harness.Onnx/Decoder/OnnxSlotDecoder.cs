using System.Runtime.InteropServices;
using Harness.Backends;
using Harness.Decoding;
using Harness.Metrics;
using Harness.Models;
using Harness.Onnx.Cuda;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Onnx.Decoder;

/// <summary>
/// The generated decoder graph with a KV-cache slot per sequence (<see cref="SlotDecoder"/>): each
/// layer's K and V are one buffer [slots, kv_heads, context, head_dim], and every run binds a view of
/// it as both past and present, so GroupQueryAttention writes the new positions in place. A joiner's
/// prefill binds its slot's rows alone (batch 1, total_sequence_length = its prompt); a decode step
/// binds the first rows up to the highest slot in use, with each row's length in seqlens_k (GQA reads
/// each row's cache up to it, and takes Llama's rotary positions from it) and, for GPT-2, its
/// position in position_ids. The views and bindings are built once per slot and per row count and
/// reused; a step allocates nothing on the managed side.
/// </summary>
public sealed class OnnxSlotDecoder : SlotDecoder
{
    // Segments of the decode input block: ids, positions (int64), seqlens_k (int32); the prefill block has the same three.
    private const int Ids = 0, Positions = 1, SeqLens = 2;
    // Segments of the output block: next tokens (int64), logits (float32).
    private const int Next = 0, LogitsSegment = 1;

    private readonly List<IDisposable> _owned = [];
    private readonly InferenceSession _session;
    private readonly DecoderConfig _c;
    private readonly bool _cuda;
    private readonly bool _gpt2;
    private readonly string _what;
    private readonly TransferBlock _prefillIn;
    private readonly TransferBlock _decodeIn;
    private readonly TransferBlock _out;
    private readonly OrtMemoryInfo _cacheMemory;
    private readonly IntPtr[] _caches;
    private readonly long _rowBytes;
    private readonly TensorElementType _kvType;
    private readonly int[] _total = new int[1];
    private readonly OrtValue _totalValue;
    private readonly RunOptions _runOptions;
    private readonly OrtIoBinding?[] _decodeBindings;
    private readonly OrtIoBinding?[] _prefillBindings;
    private readonly Dictionary<int, (OrtValue Ids, OrtValue? Positions)> _promptInputs = [];

    /// <summary>Generates the graph (or takes it from the cache), opens its session and allocates every slot's KV cache.</summary>
    public OnnxSlotDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec, TextWriter log)
        : base(spec)
    {
        if (OnnxRunnerFactory.CudaGraph(backend, options))
        {
            throw HarnessException.BadInput($"--set {OnnxSessionFactory.CudaGraphKey.Name}=1 needs fixed decode shapes (generate); a decoder whose sequences join decodes a varying number of slots.");
        }

        _c = spec.Model;
        _cuda = backend.Device == "cuda";
        _gpt2 = _c.Architecture == DecoderArchitecture.Gpt2;
        _what = $"the generated {_c.Name} graph on {backend}";
        Name = $"{backend} {_c.Name} {spec.DType.ShortName()}";
        CheckMemory(spec, DeviceMemory.For(backend.Device, backend.DeviceId));
        string path = DecoderModelCache.GetOrCreate(_c, spec.DType, spec.WeightSeed, log);
        _session = OnnxSessionFactory.Create(path, backend, options);
        _caches = new IntPtr[2 * _c.Layers];
        _decodeBindings = new OrtIoBinding?[Slots + 1];
        _prefillBindings = new OrtIoBinding?[Slots];
        _kvType = OnnxDecoderRunner.ElementType(spec.DType);
        _rowBytes = (long)_c.KvHeads * Context * _c.HeadDim * spec.DType.Bytes();
        try
        {
            int slots = Slots;
            _prefillIn = Own(new TransferBlock(_cuda, backend.DeviceId, Context * sizeof(long), Context * sizeof(long), sizeof(int)));
            _decodeIn = Own(new TransferBlock(_cuda, backend.DeviceId, slots * sizeof(long), slots * sizeof(long), slots * sizeof(int)));
            _out = Own(new TransferBlock(_cuda, backend.DeviceId, slots * sizeof(long), (long)slots * _c.Vocab * sizeof(float)));
            Span<long> positions = _prefillIn.Host<long>(Positions);
            for (int i = 0; i < positions.Length; i++)
            {
                positions[i] = i;
            }

            _runOptions = Own(new RunOptions());
            _totalValue = Own(OrtValue.CreateTensorValueFromMemory(_total, [1]));
            _cacheMemory = _cuda ? Own(new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, backend.DeviceId, OrtMemType.Default)) : OrtMemoryInfo.DefaultInstance;
            long bytes = slots * _rowBytes;
            for (int i = 0; i < _caches.Length; i++)
            {
                _caches[i] = Allocate(bytes, backend.DeviceId);
            }
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
            [ConfigKeys.Attention] = $"com.microsoft GroupQueryAttention over a KV cache [slots, kv_heads, {Context}, head_dim] per layer shared by past and present (updated in place), one length per row in seqlens_k",
            [ConfigKeys.CudaGraph] = false,
        };
        Details = DescribeBatching(backendDetails);
    }

    public override string Name { get; }

    public override IReadOnlyDictionary<string, object?> Details { get; }

    public override void Dispose()
    {
        // Bindings before the values they bind; the prompt inputs belong to their transfer block.
        foreach (OrtIoBinding?[] bindings in new[] { _decodeBindings, _prefillBindings })
        {
            for (int i = 0; i < (bindings?.Length ?? 0); i++)
            {
                bindings![i]?.Dispose();
                bindings[i] = null;
            }
        }

        _promptInputs.Clear();
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        _owned.Clear();
        for (int i = 0; i < (_caches?.Length ?? 0); i++)
        {
            Free(_caches![i]);
            _caches[i] = IntPtr.Zero;
        }

        _session?.Dispose();
    }

    protected override long Prefill(int slot, ReadOnlySpan<long> prompt)
    {
        int p = prompt.Length;
        prompt.CopyTo(_prefillIn.Host<long>(Ids));
        _prefillIn.Host<int>(SeqLens)[0] = p - 1;
        _total[0] = p;
        _prefillIn.Upload();
        OrtIoBinding binding = _prefillBindings[slot] ??= Bind(slot, 1, _out.TensorAt(Next, (long)slot * sizeof(long), TensorElementType.Int64, 1), _out.TensorAt(LogitsSegment, (long)slot * _c.Vocab * sizeof(float), TensorElementType.Float, 1, _c.Vocab), _prefillIn.TensorAt(SeqLens, 0, TensorElementType.Int32, 1));
        if (!_promptInputs.TryGetValue(p, out (OrtValue Ids, OrtValue? Positions) inputs))
        {
            inputs = (_prefillIn.TensorAt(Ids, 0, TensorElementType.Int64, 1, p), _gpt2 ? _prefillIn.TensorAt(Positions, 0, TensorElementType.Int64, 1, p) : null);
            _promptInputs[p] = inputs;
        }

        binding.BindInput(DecoderIo.InputIds, inputs.Ids);
        if (inputs.Positions is { } positions)
        {
            binding.BindInput(DecoderIo.PositionIds, positions);
        }

        Run(binding);
        return _out.Host<long>(Next)[slot];
    }

    protected override void Decode(int rows, ReadOnlySpan<long> tokens, ReadOnlySpan<int> positions, Span<long> next)
    {
        tokens.CopyTo(_decodeIn.Host<long>(Ids));
        Span<long> pos = _decodeIn.Host<long>(Positions);
        Span<int> seqLens = _decodeIn.Host<int>(SeqLens);
        int longest = 0;
        for (int r = 0; r < rows; r++)
        {
            pos[r] = positions[r];
            seqLens[r] = positions[r];
            longest = Math.Max(longest, positions[r]);
        }

        _total[0] = longest + 1;
        _decodeIn.Upload();
        OrtIoBinding binding = _decodeBindings[rows] ??= BindDecode(rows);
        Run(binding);
        _out.Host<long>(Next)[..rows].CopyTo(next);
    }

    private OrtIoBinding BindDecode(int rows)
    {
        OrtIoBinding io = Bind(0, rows, _out.TensorAt(Next, 0, TensorElementType.Int64, rows), _out.TensorAt(LogitsSegment, 0, TensorElementType.Float, rows, _c.Vocab), _decodeIn.TensorAt(SeqLens, 0, TensorElementType.Int32, rows));
        io.BindInput(DecoderIo.InputIds, _decodeIn.TensorAt(Ids, 0, TensorElementType.Int64, rows, 1));
        if (_gpt2)
        {
            io.BindInput(DecoderIo.PositionIds, _decodeIn.TensorAt(Positions, 0, TensorElementType.Int64, rows, 1));
        }

        return io;
    }

    /// <summary>A binding of rows [<paramref name="firstRow"/>, + <paramref name="rows"/>) of every layer's cache, as past and present.</summary>
    private OrtIoBinding Bind(int firstRow, int rows, OrtValue next, OrtValue logits, OrtValue seqLens)
    {
        OrtIoBinding io = _session.CreateIoBinding();
        io.BindInput(DecoderIo.SeqLensK, seqLens);
        io.BindInput(DecoderIo.TotalSequenceLength, _totalValue);
        long[] shape = [rows, _c.KvHeads, Context, _c.HeadDim];
        for (int layer = 0; layer < _c.Layers; layer++)
        {
            OrtValue k = Own(OrtValue.CreateTensorValueWithData(_cacheMemory, _kvType, shape, _caches[2 * layer] + (nint)(firstRow * _rowBytes), rows * _rowBytes));
            OrtValue v = Own(OrtValue.CreateTensorValueWithData(_cacheMemory, _kvType, shape, _caches[(2 * layer) + 1] + (nint)(firstRow * _rowBytes), rows * _rowBytes));
            io.BindInput(DecoderIo.PastKey(layer), k);
            io.BindInput(DecoderIo.PastValue(layer), v);
            io.BindOutput(DecoderIo.PresentKey(layer), k);
            io.BindOutput(DecoderIo.PresentValue(layer), v);
        }

        io.BindOutput(DecoderIo.NextToken, next);
        io.BindOutput(DecoderIo.Logits, logits);
        return io;
    }

    private void Run(OrtIoBinding binding)
    {
        OnnxDecoderRunner.Run(_session, _runOptions, binding, _what);

        if (_cuda)
        {
            binding.SynchronizeBoundOutputs();
            _out.Download(Next);
        }
    }

    private IntPtr Allocate(long bytes, int deviceId)
    {
        if (_cuda)
        {
            return CudaRuntime.Malloc(deviceId, bytes);
        }

        unsafe
        {
            void* p = NativeMemory.AlignedAlloc((nuint)bytes, 64);
            // Zeroed once: rows past a sequence's length are never read, but a NaN left there must not reach a masked product.
            NativeMemory.Clear(p, (nuint)bytes);
            return (IntPtr)p;
        }
    }

    private void Free(IntPtr p)
    {
        if (p == IntPtr.Zero)
        {
            return;
        }

        if (_cuda)
        {
            CudaRuntime.Free(p);
            return;
        }

        unsafe
        {
            NativeMemory.AlignedFree((void*)p);
        }
    }

    private T Own<T>(T d)
        where T : IDisposable
    {
        _owned.Add(d);
        return d;
    }
}
