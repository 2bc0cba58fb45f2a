using System.Runtime.InteropServices;
using System.Text;

namespace Harness.Hardware;

/// <summary>The slice of NVML the harness reads. Faked in tests; the real one is <see cref="NvmlLibrary"/>.</summary>
public interface INvml
{
    /// <summary>False when libnvidia-ml.so.1 is missing or nvmlInit failed; <see cref="UnavailableReason"/> says why.</summary>
    bool Available { get; }

    string? UnavailableReason { get; }

    IReadOnlyList<GpuInfo> ListGpus();
}

/// <summary>
/// NVML through P/Invoke on libnvidia-ml.so.1, resolved at run time so machines without a driver
/// load the harness fine and simply report no GPU.
/// </summary>
public sealed unsafe class NvmlLibrary : INvml, IDisposable
{
    private const int Success = 0;
    private readonly nint _lib;
    private readonly delegate* unmanaged<int> _shutdown;
    private readonly delegate* unmanaged<uint*, int> _deviceGetCount;
    private readonly delegate* unmanaged<uint, nint*, int> _deviceGetHandleByIndex;
    private readonly delegate* unmanaged<nint, byte*, uint, int> _deviceGetName;
    private readonly delegate* unmanaged<nint, byte*, uint, int> _deviceGetUuid;
    private readonly delegate* unmanaged<nint, MemoryInfo*, int> _deviceGetMemoryInfo;
    private readonly delegate* unmanaged<nint, uint*, int> _deviceGetPowerLimit;
    private readonly delegate* unmanaged<byte*, uint, int> _systemGetDriverVersion;

    public NvmlLibrary()
    {
        if (!NativeLibrary.TryLoad("libnvidia-ml.so.1", out _lib))
        {
            UnavailableReason = "NVML (libnvidia-ml.so.1) was not found: no NVIDIA driver on this machine";
            return;
        }

        try
        {
            var init = (delegate* unmanaged<int>)NativeLibrary.GetExport(_lib, "nvmlInit_v2");
            _shutdown = (delegate* unmanaged<int>)NativeLibrary.GetExport(_lib, "nvmlShutdown");
            _deviceGetCount = (delegate* unmanaged<uint*, int>)NativeLibrary.GetExport(_lib, "nvmlDeviceGetCount_v2");
            _deviceGetHandleByIndex = (delegate* unmanaged<uint, nint*, int>)NativeLibrary.GetExport(_lib, "nvmlDeviceGetHandleByIndex_v2");
            _deviceGetName = (delegate* unmanaged<nint, byte*, uint, int>)NativeLibrary.GetExport(_lib, "nvmlDeviceGetName");
            _deviceGetUuid = (delegate* unmanaged<nint, byte*, uint, int>)NativeLibrary.GetExport(_lib, "nvmlDeviceGetUUID");
            _deviceGetMemoryInfo = (delegate* unmanaged<nint, MemoryInfo*, int>)NativeLibrary.GetExport(_lib, "nvmlDeviceGetMemoryInfo");
            _deviceGetPowerLimit = (delegate* unmanaged<nint, uint*, int>)NativeLibrary.GetExport(_lib, "nvmlDeviceGetEnforcedPowerLimit");
            _systemGetDriverVersion = (delegate* unmanaged<byte*, uint, int>)NativeLibrary.GetExport(_lib, "nvmlSystemGetDriverVersion");
            int rc = init();
            if (rc != Success)
            {
                UnavailableReason = $"nvmlInit failed with NVML error {rc}";
                return;
            }

            Available = true;
        }
        catch (EntryPointNotFoundException e)
        {
            UnavailableReason = $"NVML is too old: {e.Message}";
        }
    }

    public bool Available { get; }

    public string? UnavailableReason { get; }

    public IReadOnlyList<GpuInfo> ListGpus()
    {
        if (!Available)
        {
            return [];
        }

        uint count;
        if (_deviceGetCount(&count) != Success)
        {
            return [];
        }

        string driver = ReadString((b, n) => _systemGetDriverVersion(b, n));
        var gpus = new List<GpuInfo>((int)count);
        for (uint i = 0; i < count; i++)
        {
            nint handle;
            if (_deviceGetHandleByIndex(i, &handle) != Success)
            {
                continue;
            }

            nint h = handle;

            MemoryInfo mem;
            long memBytes = _deviceGetMemoryInfo(h, &mem) == Success ? (long)mem.Total : 0;
            uint mw;
            double? limit = _deviceGetPowerLimit(h, &mw) == Success ? mw / 1000.0 : null;
            gpus.Add(new GpuInfo((int)i, ReadString((b, n) => _deviceGetName(h, b, n)), ReadString((b, n) => _deviceGetUuid(h, b, n)), driver, memBytes, limit));
        }

        return gpus;
    }

    public void Dispose()
    {
        if (Available)
        {
            _shutdown();
        }

        if (_lib != 0)
        {
            NativeLibrary.Free(_lib);
        }
    }

    private delegate int StringReader(byte* buffer, uint length);

    private static string ReadString(StringReader read)
    {
        byte* buf = stackalloc byte[256];
        if (read(buf, 256) != Success)
        {
            return "";
        }

        return Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(buf));
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryInfo
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }
}
