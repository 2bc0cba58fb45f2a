using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Onnx.Cuda;

/// <summary>
/// The small tensors a run reads or writes each time (token ids, positions, sequence lengths, the
/// next tokens), laid out in one block so that a step moves them with one copy. On the CPU the
/// tensors live in the host block itself; on CUDA they live in a device block at fixed addresses
/// (what CUDA graph replay needs), mirrored by a page-locked host block, and
/// <see cref="Upload"/>/<see cref="Download"/> copy between the two.
/// </summary>
internal sealed class TransferBlock : IDisposable
{
    private const int Alignment = 64;
    private readonly long[] _offsets;
    private readonly long[] _sizes;
    private readonly long _bytes;
    private readonly IntPtr _host;
    private readonly IntPtr _device;
    private readonly OrtMemoryInfo _memory;
    private readonly bool _cuda;
    private readonly List<OrtValue> _values = [];
    private bool _disposed;

    /// <param name="segmentBytes">Size of each segment, in order; each starts on a 64-byte boundary.</param>
    public TransferBlock(bool cuda, int deviceId, params long[] segmentBytes)
    {
        _cuda = cuda;
        _sizes = segmentBytes;
        _offsets = new long[segmentBytes.Length];
        long at = 0;
        for (int i = 0; i < segmentBytes.Length; i++)
        {
            _offsets[i] = at;
            at += (segmentBytes[i] + Alignment - 1) / Alignment * Alignment;
        }

        _bytes = Math.Max(at, Alignment);
        unsafe
        {
            if (cuda)
            {
                // The device first: Malloc selects it, so the page-locked host memory belongs to its context.
                _device = CudaRuntime.Malloc(deviceId, _bytes);
                try
                {
                    _host = CudaRuntime.MallocHost(_bytes);
                }
                catch
                {
                    CudaRuntime.Free(_device);
                    throw;
                }

                _memory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, deviceId, OrtMemType.Default);
            }
            else
            {
                _host = (IntPtr)NativeMemory.AlignedAlloc((nuint)_bytes, Alignment);
                _memory = OrtMemoryInfo.DefaultInstance;
            }

            NativeMemory.Clear((void*)_host, (nuint)_bytes);
        }
    }

    /// <summary>The host side of segment <paramref name="segment"/>, as T.</summary>
    public unsafe Span<T> Host<T>(int segment)
        where T : unmanaged => new((void*)(_host + (nint)_offsets[segment]), checked((int)(_sizes[segment] / sizeof(T))));

    /// <summary>A tensor over segment <paramref name="segment"/> where the session reads or writes it (owned by the block).</summary>
    public OrtValue Tensor(int segment, TensorElementType type, params long[] shape)
    {
        IntPtr at = (_cuda ? _device : _host) + (nint)_offsets[segment];
        OrtValue v = OrtValue.CreateTensorValueWithData(_memory, type, shape, at, _sizes[segment]);
        _values.Add(v);
        return v;
    }

    /// <summary>A tensor over segment <paramref name="segment"/> from <paramref name="byteOffset"/> on (owned by the block).</summary>
    public OrtValue TensorAt(int segment, long byteOffset, TensorElementType type, params long[] shape)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteOffset);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(byteOffset, _sizes[segment]);
        IntPtr at = (_cuda ? _device : _host) + (nint)(_offsets[segment] + byteOffset);
        OrtValue v = OrtValue.CreateTensorValueWithData(_memory, type, shape, at, _sizes[segment] - byteOffset);
        _values.Add(v);
        return v;
    }

    /// <summary>
    /// A tensor over the start of segment <paramref name="segment"/> where the session reads or writes
    /// it, owned by the caller (disposed before the block).
    /// </summary>
    public OrtValue View(int segment, TensorElementType type, params long[] shape)
    {
        IntPtr at = (_cuda ? _device : _host) + (nint)_offsets[segment];
        return OrtValue.CreateTensorValueWithData(_memory, type, shape, at, _sizes[segment]);
    }

    /// <summary>Host to device, the whole block (no-op on the CPU).</summary>
    public void Upload()
    {
        if (_cuda)
        {
            CudaRuntime.CopyToDevice(_device, _host, _bytes);
        }
    }

    /// <summary>Device to host, one segment (no-op on the CPU).</summary>
    public void Download(int segment)
    {
        if (_cuda)
        {
            CudaRuntime.CopyToHost(_host + (nint)_offsets[segment], _device + (nint)_offsets[segment], _sizes[segment]);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (OrtValue v in _values)
        {
            v.Dispose();
        }

        _values.Clear();
        unsafe
        {
            if (_cuda)
            {
                _memory.Dispose();
                CudaRuntime.Free(_device);
                CudaRuntime.FreeHost(_host);
            }
            else
            {
                NativeMemory.AlignedFree((void*)_host);
            }
        }
    }
}
