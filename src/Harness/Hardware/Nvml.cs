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

    /// <summary>
    /// Reads the sensors of GPU <paramref name="index"/> (as in <see cref="ListGpus"/>) now. Fields the
    /// device or driver does not support stay null; the default reads nothing, for fakes that only list.
    /// </summary>
    /// <param name="withEnergy">
    /// Also read the total-energy counter. It is the one costly query (about 3.8 ms of CPU per call on
    /// an H200, against under 5 µs for all the others together), so samplers read it less often.
    /// </param>
    GpuReading ReadGpu(int index, bool withEnergy = true) => default;

    /// <summary>The CUDA version the driver supports ("12.8"); null where not known.</summary>
    string? CudaDriverVersion => null;

    /// <summary>
    /// The processes with a CUDA context on GPU <paramref name="index"/> now (nvmlDeviceGetComputeRunningProcesses),
    /// this one included; null where NVML cannot list them (the default, for fakes that do not script any).
    /// </summary>
    IReadOnlyList<GpuProcess>? ComputeProcesses(int index) => null;
}

/// <summary>A process using a GPU: its PID (in NVML's PID namespace, the host's) and the device memory it holds.</summary>
public readonly record struct GpuProcess(int Pid, long? UsedMemoryBytes);

/// <summary>One reading of a GPU's sensors through NVML; null where the query is not supported.</summary>
/// <param name="PowerW">nvmlDeviceGetPowerUsage: board power draw (on Ampere and later a 1 s average, on Hopper instant).</param>
/// <param name="EnergyMj">nvmlDeviceGetTotalEnergyConsumption: millijoules since the driver was loaded (Volta and later).</param>
/// <param name="Utilization">Share of the last sample period (1/6 s to 1 s) in which a kernel ran, 0 to 1.</param>
/// <param name="MemoryUtilization">Share of that period in which device memory was read or written, 0 to 1.</param>
/// <param name="ClockEventReasons">nvmlClocksEventReasons bit mask (formerly "throttle reasons").</param>
public readonly record struct GpuReading(
    double? PowerW,
    ulong? EnergyMj,
    double? Utilization,
    double? MemoryUtilization,
    long? MemoryUsedBytes,
    double? SmClockMhz,
    double? MemoryClockMhz,
    double? TemperatureC,
    ulong? ClockEventReasons);

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

    // Sensor queries: looked up one by one, so an old driver without one still reads the others.
    private readonly delegate* unmanaged<nint, uint*, int> _deviceGetPowerUsage;
    private readonly delegate* unmanaged<nint, ulong*, int> _deviceGetTotalEnergyConsumption;
    private readonly delegate* unmanaged<nint, Utilization*, int> _deviceGetUtilizationRates;
    private readonly delegate* unmanaged<nint, int, uint*, int> _deviceGetClockInfo;
    private readonly delegate* unmanaged<nint, int, uint*, int> _deviceGetTemperature;
    private readonly delegate* unmanaged<nint, ulong*, int> _deviceGetClockEventReasons;

    // What the comparability rule and the disturbance measure read; optional like the sensors.
    private readonly delegate* unmanaged<int*, int> _systemGetCudaDriverVersion;
    private readonly delegate* unmanaged<nint, uint*, uint*, int> _deviceGetMigMode;
    private readonly delegate* unmanaged<nint, int, uint*, int> _deviceGetMaxClockInfo;
    private readonly delegate* unmanaged<nint, int, uint*, int> _deviceGetApplicationsClock;
    private readonly delegate* unmanaged<nint, uint*, ProcessInfo*, int> _deviceGetComputeRunningProcesses;
    private readonly delegate* unmanaged<nint, uint*, ProcessInfoV1*, int> _deviceGetComputeRunningProcessesV1;
    private nint[]? _handles;

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
            _deviceGetPowerUsage = (delegate* unmanaged<nint, uint*, int>)OptionalExport("nvmlDeviceGetPowerUsage");
            _deviceGetTotalEnergyConsumption = (delegate* unmanaged<nint, ulong*, int>)OptionalExport("nvmlDeviceGetTotalEnergyConsumption");
            _deviceGetUtilizationRates = (delegate* unmanaged<nint, Utilization*, int>)OptionalExport("nvmlDeviceGetUtilizationRates");
            _deviceGetClockInfo = (delegate* unmanaged<nint, int, uint*, int>)OptionalExport("nvmlDeviceGetClockInfo");
            _deviceGetTemperature = (delegate* unmanaged<nint, int, uint*, int>)OptionalExport("nvmlDeviceGetTemperature");
            // Renamed in driver 535; the old name stays exported for compatibility.
            _deviceGetClockEventReasons = (delegate* unmanaged<nint, ulong*, int>)(OptionalExport("nvmlDeviceGetCurrentClocksEventReasons") is var r and not 0
                ? r
                : OptionalExport("nvmlDeviceGetCurrentClocksThrottleReasons"));
            _systemGetCudaDriverVersion = (delegate* unmanaged<int*, int>)(OptionalExport("nvmlSystemGetCudaDriverVersion_v2") is var cv and not 0
                ? cv
                : OptionalExport("nvmlSystemGetCudaDriverVersion"));
            _deviceGetMigMode = (delegate* unmanaged<nint, uint*, uint*, int>)OptionalExport("nvmlDeviceGetMigMode");
            _deviceGetMaxClockInfo = (delegate* unmanaged<nint, int, uint*, int>)OptionalExport("nvmlDeviceGetMaxClockInfo");
            _deviceGetApplicationsClock = (delegate* unmanaged<nint, int, uint*, int>)OptionalExport("nvmlDeviceGetApplicationsClock");
            // _v3 and _v2 take the four-field struct; the unversioned call the two-field one of old drivers.
            _deviceGetComputeRunningProcesses = (delegate* unmanaged<nint, uint*, ProcessInfo*, int>)(OptionalExport("nvmlDeviceGetComputeRunningProcesses_v3") is var p3 and not 0
                ? p3
                : OptionalExport("nvmlDeviceGetComputeRunningProcesses_v2"));
            _deviceGetComputeRunningProcessesV1 = (delegate* unmanaged<nint, uint*, ProcessInfoV1*, int>)OptionalExport("nvmlDeviceGetComputeRunningProcesses");
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
            uint current, pending;
            string? mig = _deviceGetMigMode != null && _deviceGetMigMode(h, &current, &pending) == Success ? (current == 1 ? "enabled" : "disabled") : null;
            gpus.Add(new GpuInfo((int)i, ReadString((b, n) => _deviceGetName(h, b, n)), ReadString((b, n) => _deviceGetUuid(h, b, n)), driver, memBytes, limit)
            {
                MigMode = mig,
                MaxSmClockMhz = Clock(_deviceGetMaxClockInfo, h, ClockSm),
                MaxMemoryClockMhz = Clock(_deviceGetMaxClockInfo, h, ClockMem),
                ApplicationSmClockMhz = Clock(_deviceGetApplicationsClock, h, ClockSm),
                ApplicationMemoryClockMhz = Clock(_deviceGetApplicationsClock, h, ClockMem),
            });
        }

        return gpus;
    }

    public GpuReading ReadGpu(int index, bool withEnergy = true)
    {
        nint[] handles = Handles();
        if ((uint)index >= (uint)handles.Length || handles[index] == 0)
        {
            return default;
        }

        nint h = handles[index];
        uint u;
        ulong ul;
        Utilization util = default;
        MemoryInfo mem;
        double? power = _deviceGetPowerUsage != null && _deviceGetPowerUsage(h, &u) == Success ? u / 1000.0 : null;
        ulong? energy = withEnergy && _deviceGetTotalEnergyConsumption != null && _deviceGetTotalEnergyConsumption(h, &ul) == Success ? ul : null;
        bool hasUtil = _deviceGetUtilizationRates != null && _deviceGetUtilizationRates(h, &util) == Success;
        long? used = _deviceGetMemoryInfo(h, &mem) == Success ? (long)mem.Used : null;
        double? sm = _deviceGetClockInfo != null && _deviceGetClockInfo(h, ClockSm, &u) == Success ? u : null;
        double? memClock = _deviceGetClockInfo != null && _deviceGetClockInfo(h, ClockMem, &u) == Success ? u : null;
        double? temp = _deviceGetTemperature != null && _deviceGetTemperature(h, TemperatureGpu, &u) == Success ? u : null;
        ulong? reasons = _deviceGetClockEventReasons != null && _deviceGetClockEventReasons(h, &ul) == Success ? ul : null;
        return new GpuReading(
            power,
            energy,
            hasUtil ? util.Gpu / 100.0 : null,
            hasUtil ? util.Memory / 100.0 : null,
            used,
            sm,
            memClock,
            temp,
            reasons);
    }

    public string? CudaDriverVersion
    {
        get
        {
            int version;
            return Available && _systemGetCudaDriverVersion != null && _systemGetCudaDriverVersion(&version) == Success && version > 0
                ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{version / 1000}.{version % 1000 / 10}")
                : null;
        }
    }

    public IReadOnlyList<GpuProcess>? ComputeProcesses(int index)
    {
        nint[] handles = Handles();
        if ((uint)index >= (uint)handles.Length || handles[index] == 0)
        {
            return null;
        }

        nint h = handles[index];
        const int capacity = 64;
        uint count = capacity;
        if (_deviceGetComputeRunningProcesses != null)
        {
            ProcessInfo* infos = stackalloc ProcessInfo[capacity];
            return _deviceGetComputeRunningProcesses(h, &count, infos) is Success or InsufficientSize
                ? Listed(infos, Math.Min(count, capacity), p => new GpuProcess((int)p.Pid, Memory(p.UsedGpuMemory)))
                : null;
        }

        if (_deviceGetComputeRunningProcessesV1 != null)
        {
            ProcessInfoV1* infos = stackalloc ProcessInfoV1[capacity];
            return _deviceGetComputeRunningProcessesV1(h, &count, infos) is Success or InsufficientSize
                ? Listed(infos, Math.Min(count, capacity), p => new GpuProcess((int)p.Pid, Memory(p.UsedGpuMemory)))
                : null;
        }

        return null;
    }

    private static List<GpuProcess> Listed<T>(T* infos, uint count, Func<T, GpuProcess> convert)
        where T : unmanaged
    {
        var list = new List<GpuProcess>((int)count);
        for (int i = 0; i < count; i++)
        {
            list.Add(convert(infos[i]));
        }

        return list;
    }

    /// <summary>NVML_VALUE_NOT_AVAILABLE (all ones) where the driver cannot tell a process's memory (MIG, Windows WDDM).</summary>
    private static long? Memory(ulong bytes) => bytes == ulong.MaxValue ? null : (long)bytes;

    private static double? Clock(delegate* unmanaged<nint, int, uint*, int> query, nint handle, int type)
    {
        uint mhz;
        return query != null && query(handle, type, &mhz) == Success && mhz > 0 ? mhz : null;
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

    private const int InsufficientSize = 7; // NVML_ERROR_INSUFFICIENT_SIZE: more processes than the buffer holds
    private const int ClockSm = 1;       // NVML_CLOCK_SM
    private const int ClockMem = 2;      // NVML_CLOCK_MEM
    private const int TemperatureGpu = 0; // NVML_TEMPERATURE_GPU

    /// <summary>Device handles by index, resolved once: the sampler reads them ten times a second.</summary>
    private nint[] Handles()
    {
        if (_handles is { } cached)
        {
            return cached;
        }

        nint[] handles = [];
        uint count;
        if (Available && _deviceGetCount(&count) == Success)
        {
            handles = new nint[count];
            for (uint i = 0; i < count; i++)
            {
                nint h;
                handles[i] = _deviceGetHandleByIndex(i, &h) == Success ? h : 0;
            }
        }

        _handles = handles;
        return handles;
    }

    private nint OptionalExport(string name) => NativeLibrary.TryGetExport(_lib, name, out nint address) ? address : 0;

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
    private struct Utilization
    {
        public uint Gpu;
        public uint Memory;
    }

    /// <summary>nvmlProcessInfo_v2_t / _v3_t: 24 bytes (the 64-bit field is aligned after the PID).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ProcessInfo
    {
        public uint Pid;
        public ulong UsedGpuMemory;
        public uint GpuInstanceId;
        public uint ComputeInstanceId;
    }

    /// <summary>nvmlProcessInfo_v1_t, for drivers older than 450.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ProcessInfoV1
    {
        public uint Pid;
        public ulong UsedGpuMemory;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryInfo
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }
}
