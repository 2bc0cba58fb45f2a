using System.Runtime.InteropServices;
using Harness.Onnx.Cuda;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Onnx.Decoder;

/// <summary>
/// The KV cache of <see cref="OnnxDecoder"/>: per layer one K and one V buffer of
/// [rows, kv_heads, tokens, head_dim] (BNSH, what GroupQueryAttention reads and writes in place), in
/// host memory on the CPU and device memory on CUDA. A resize allocates new buffers and copies the
/// first tokens of each live row, head by head (the tokens dimension changes the stride); a row
/// moves with one copy per head. New buffers are zeroed: positions past a row's length are never
/// read unmasked, but garbage there must not be NaN in a masked product.
/// </summary>
internal sealed class KvCache : IDisposable
{
    private readonly bool _cuda;
    private readonly int _deviceId;
    private readonly int _kvHeads;
    private readonly long _headTokenBytes;
    private readonly IntPtr[] _buffers;

    /// <param name="elementBytes">Bytes of one element (4 for fp32, 2 for fp16 and bf16).</param>
    public KvCache(
        bool cuda, int deviceId, int layers, int kvHeads, int headDim, int elementBytes, TensorElementType type, OrtMemoryInfo memory)
    {
        _cuda = cuda;
        _deviceId = deviceId;
        _kvHeads = kvHeads;
        HeadDim = headDim;
        _headTokenBytes = (long)headDim * elementBytes;
        ElementType = type;
        Memory = memory;
        _buffers = new IntPtr[2 * layers];
    }

    /// <summary>Rows the buffers hold now.</summary>
    public int Rows { get; private set; }

    /// <summary>Tokens each row holds now.</summary>
    public int Tokens { get; private set; }

    public int HeadDim { get; }

    public TensorElementType ElementType { get; }

    public OrtMemoryInfo Memory { get; }

    /// <summary>
    /// K (<paramref name="value"/> false) or V of <paramref name="layer"/>, rows [<paramref name="firstRow"/>,
    /// + <paramref name="rows"/>), as a tensor the caller disposes.
    /// </summary>
    public OrtValue View(int layer, bool value, int firstRow, int rows)
    {
        long rowBytes = RowBytes(Tokens);
        IntPtr at = _buffers[(2 * layer) + (value ? 1 : 0)] + (nint)(firstRow * rowBytes);
        return OrtValue.CreateTensorValueWithData(Memory, ElementType, [rows, _kvHeads, Tokens, HeadDim], at, rows * rowBytes);
    }

    /// <summary>New buffers of <paramref name="rows"/> x <paramref name="tokens"/>; row r keeps its first lengths[r] tokens.</summary>
    public void Resize(int rows, int tokens, ReadOnlySpan<int> lengths)
    {
        long bytes = rows * RowBytes(tokens);
        for (int i = 0; i < _buffers.Length; i++)
        {
            IntPtr fresh = Allocate(bytes);
            IntPtr old = _buffers[i];
            if (old != IntPtr.Zero)
            {
                for (int r = 0; r < lengths.Length && r < rows; r++)
                {
                    int kept = Math.Min(lengths[r], Math.Min(tokens, Tokens));
                    CopyHeads(fresh + (nint)(r * RowBytes(tokens)), tokens, old + (nint)(r * RowBytes(Tokens)), Tokens, kept);
                }

                Free(old);
            }

            _buffers[i] = fresh;
        }

        Rows = rows;
        Tokens = tokens;
        SynchronizeDevice();
    }

    /// <summary>Copies the first <paramref name="tokens"/> tokens of a row to another, in every layer.</summary>
    public void MoveRow(int from, int to, int tokens)
    {
        long rowBytes = RowBytes(Tokens);
        foreach (IntPtr buffer in _buffers)
        {
            CopyHeads(buffer + (nint)(to * rowBytes), Tokens, buffer + (nint)(from * rowBytes), Tokens, Math.Min(tokens, Tokens));
        }

        SynchronizeDevice();
    }

    public void Dispose()
    {
        for (int i = 0; i < _buffers.Length; i++)
        {
            Free(_buffers[i]);
            _buffers[i] = IntPtr.Zero;
        }

        Rows = 0;
        Tokens = 0;
    }

    /// <summary>On CUDA, waits for the copies and zeroing (asynchronous to the host) before ONNX Runtime reads the cache.</summary>
    private void SynchronizeDevice()
    {
        if (_cuda)
        {
            CudaRuntime.Synchronize();
        }
    }

    private long RowBytes(int tokens) => _kvHeads * tokens * _headTokenBytes;

    /// <summary>Each head's first <paramref name="tokens"/> tokens of one row, between rows of different token strides.</summary>
    private unsafe void CopyHeads(IntPtr target, int targetTokens, IntPtr source, int sourceTokens, int tokens)
    {
        if (tokens <= 0)
        {
            return;
        }

        long width = tokens * _headTokenBytes;
        long targetPitch = targetTokens * _headTokenBytes, sourcePitch = sourceTokens * _headTokenBytes;
        if (_cuda)
        {
            CudaRuntime.CopyOnDevice(target, targetPitch, source, sourcePitch, width, _kvHeads);
            return;
        }

        for (int h = 0; h < _kvHeads; h++)
        {
            Buffer.MemoryCopy((void*)(source + (nint)(h * sourcePitch)), (void*)(target + (nint)(h * targetPitch)), width, width);
        }
    }

    private unsafe IntPtr Allocate(long bytes)
    {
        if (_cuda)
        {
            IntPtr d = CudaRuntime.Malloc(_deviceId, bytes);
            CudaRuntime.Zero(d, bytes);
            return d;
        }

        void* p = NativeMemory.AlignedAlloc((nuint)bytes, 64);
        NativeMemory.Clear(p, (nuint)bytes);
        return (IntPtr)p;
    }

    private unsafe void Free(IntPtr p)
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

        NativeMemory.AlignedFree((void*)p);
    }
}
