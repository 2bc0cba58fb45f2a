using System.Runtime.InteropServices;

namespace Harness.Onnx.Cuda;

/// <summary>
/// The few CUDA runtime calls the decoder needs to own its step buffers on the device: ONNX Runtime's
/// C# API cannot copy between host and device memory, and an input bound from host memory is copied
/// to a new device buffer when it is bound, not when the session runs (so a step could not change it,
/// and CUDA graphs need fixed addresses). The runtime is the one ORT's CUDA provider already loaded
/// (libcudart of CUDA 13), so both share the device's primary context. <c>HARNESS_CUDART</c> names
/// another library file (a different CUDA install, or the fake runtime of the tests).
/// </summary>
internal static unsafe class CudaRuntime
{
    private const int MemcpyHostToDevice = 1;
    private const int MemcpyDeviceToHost = 2;
    private const int MemcpyDeviceToDevice = 3;

    private static readonly Lazy<Api> Functions = new(Load);

    /// <summary>Device memory on <paramref name="device"/>; freed by <see cref="Free"/>.</summary>
    public static IntPtr Malloc(int device, long bytes)
    {
        Api f = Functions.Value;
        Check(f.SetDevice(device), "cudaSetDevice");
        IntPtr p;
        Check(f.Malloc(&p, (nuint)bytes), $"cudaMalloc of {bytes} bytes");
        return p;
    }

    public static void Free(IntPtr p) => Functions.Value.Free(p);

    /// <summary>Page-locked host memory: a copy from it to the device is complete when cudaMemcpy returns.</summary>
    public static IntPtr MallocHost(long bytes)
    {
        IntPtr p;
        Check(Functions.Value.MallocHost(&p, (nuint)bytes), $"cudaMallocHost of {bytes} bytes");
        return p;
    }

    public static void FreeHost(IntPtr p) => Functions.Value.FreeHost(p);

    public static void CopyToDevice(IntPtr device, IntPtr host, long bytes) =>
        Check(Functions.Value.Memcpy(device, host, (nuint)bytes, MemcpyHostToDevice), "cudaMemcpy host to device");

    public static void CopyToHost(IntPtr host, IntPtr device, long bytes) =>
        Check(Functions.Value.Memcpy(host, device, (nuint)bytes, MemcpyDeviceToHost), "cudaMemcpy device to host");

    /// <summary>
    /// Copies <paramref name="height"/> rows of <paramref name="width"/> bytes between two device buffers,
    /// each row starting <paramref name="sourcePitch"/> (<paramref name="targetPitch"/>) bytes after the last.
    /// </summary>
    public static void CopyOnDevice(IntPtr target, long targetPitch, IntPtr source, long sourcePitch, long width, long height) =>
        Check(
            Functions.Value.Memcpy2D(
                target, (nuint)targetPitch, source, (nuint)sourcePitch, (nuint)width, (nuint)height, MemcpyDeviceToDevice),
            "cudaMemcpy2D device to device");

    /// <summary>Waits for all work on the device (copies between device buffers return before they are done).</summary>
    public static void Synchronize() => Check(Functions.Value.DeviceSynchronize(), "cudaDeviceSynchronize");

    /// <summary>Zeroes <paramref name="bytes"/> of device memory.</summary>
    public static void Zero(IntPtr device, long bytes) => Check(Functions.Value.Memset(device, 0, (nuint)bytes), "cudaMemset");

    private static void Check(int error, string what)
    {
        if (error != 0)
        {
            string text = Marshal.PtrToStringAnsi(Functions.Value.GetErrorString(error)) ?? $"error {error}";
            throw new HarnessException($"{what} failed: {text}.", ExitCodes.Invalid);
        }
    }

    private static Api Load()
    {
        string? chosen = Environment.GetEnvironmentVariable("HARNESS_CUDART");
        string[] names = chosen is { Length: > 0 } ? [chosen] : ["libcudart.so.13", "libcudart.so.12", "libcudart.so"];
        foreach (string name in names)
        {
            if (NativeLibrary.TryLoad(name, out IntPtr lib))
            {
                return new Api(lib);
            }
        }

        throw HarnessException.BadInput($"The CUDA runtime ({names[0]}) could not be loaded; put its folder on LD_LIBRARY_PATH or name the file in HARNESS_CUDART (run 'harness doctor').");
    }

    private sealed class Api(IntPtr lib)
    {
        public readonly delegate* unmanaged<int, int> SetDevice = (delegate* unmanaged<int, int>)NativeLibrary.GetExport(lib, "cudaSetDevice");
        public readonly delegate* unmanaged<IntPtr*, nuint, int> Malloc = (delegate* unmanaged<IntPtr*, nuint, int>)NativeLibrary.GetExport(lib, "cudaMalloc");
        public readonly delegate* unmanaged<IntPtr, int> Free = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(lib, "cudaFree");
        public readonly delegate* unmanaged<IntPtr*, nuint, int> MallocHost = (delegate* unmanaged<IntPtr*, nuint, int>)NativeLibrary.GetExport(lib, "cudaMallocHost");
        public readonly delegate* unmanaged<IntPtr, int> FreeHost = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(lib, "cudaFreeHost");
        public readonly delegate* unmanaged<IntPtr, IntPtr, nuint, int, int> Memcpy = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, int>)NativeLibrary.GetExport(lib, "cudaMemcpy");
        public readonly delegate* unmanaged<IntPtr, nuint, IntPtr, nuint, nuint, nuint, int, int> Memcpy2D =
            (delegate* unmanaged<IntPtr, nuint, IntPtr, nuint, nuint, nuint, int, int>)NativeLibrary.GetExport(lib, "cudaMemcpy2D");
        public readonly delegate* unmanaged<IntPtr, int, nuint, int> Memset =
            (delegate* unmanaged<IntPtr, int, nuint, int>)NativeLibrary.GetExport(lib, "cudaMemset");
        public readonly delegate* unmanaged<int> DeviceSynchronize =
            (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "cudaDeviceSynchronize");
        public readonly delegate* unmanaged<int, IntPtr> GetErrorString = (delegate* unmanaged<int, IntPtr>)NativeLibrary.GetExport(lib, "cudaGetErrorString");
    }
}
