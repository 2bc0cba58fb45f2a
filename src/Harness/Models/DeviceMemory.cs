using Harness.Hardware;

namespace Harness.Models;

/// <summary>How much memory a device offers a run, and the device's name (for peaks and messages).</summary>
public sealed record DeviceMemory(string Name, long AvailableBytes, string? GpuName)
{
    /// <summary>
    /// "cpu": the host's MemAvailable; "cuda": the GPU's total memory through NVML (what a single
    /// run may use on a card it has to itself).
    /// </summary>
    public static DeviceMemory For(string device, int deviceId, INvml? nvml = null)
    {
        if (device != "cuda")
        {
            return new DeviceMemory("this host", MemoryFit.HostAvailableBytes(), null);
        }

        NvmlLibrary? owned = nvml is null ? new NvmlLibrary() : null;
        try
        {
            IReadOnlyList<GpuInfo> gpus = (nvml ?? owned!).ListGpus();
            GpuInfo? gpu = gpus.FirstOrDefault(g => g.Index == deviceId);
            return gpu is null
                ? new DeviceMemory($"GPU {deviceId}", long.MaxValue, null)
                : new DeviceMemory($"GPU {deviceId} ({gpu.Name})", gpu.MemoryBytes, gpu.Name);
        }
        finally
        {
            owned?.Dispose();
        }
    }
}
