namespace Harness.Hardware;

/// <summary>What the run ran on: enough to tell two machines apart and to reproduce the setup.</summary>
public sealed class HardwareFingerprint
{
    public required CpuInfo Cpu { get; init; }

    public required long MemoryBytes { get; init; }

    public required string Os { get; init; }

    public required string Kernel { get; init; }

    public required string? Glibc { get; init; }

    public required string Dotnet { get; init; }

    public required string Hostname { get; init; }

    /// <summary>Native runtime versions by package ("onnxruntime", "torchsharp"); null where absent.</summary>
    public required IReadOnlyDictionary<string, string?> Packages { get; init; }

    /// <summary>GPUs seen through NVML; empty when there is no NVML or no GPU.</summary>
    public required IReadOnlyList<GpuInfo> Gpus { get; init; }

    /// <summary>Why <see cref="Gpus"/> is empty, when it is ("NVML not found", ...).</summary>
    public string? GpuNote { get; init; }

    /// <summary>The CUDA version the driver supports (nvmlSystemGetCudaDriverVersion, "12.8"); null without NVML.</summary>
    public string? CudaDriver { get; init; }
}

/// <summary>The CPU: its name, cores, and the ISA features that decide which kernels the runtimes pick.</summary>
/// <param name="Features">The flags of <see cref="CheckedFeatures"/> this CPU has.</param>
public sealed record CpuInfo(string Model, int LogicalCores, IReadOnlyList<string> Features)
{
    /// <summary>vendor_id (x86: "AuthenticAMD", "GenuineIntel"; Arm: the implementer code, "0x41"); null where /proc/cpuinfo has none.</summary>
    public string? Vendor { get; init; }

    /// <summary>x86 "cpu family" (25 for Zen 3/4); Arm: the architecture.</summary>
    public int? Family { get; init; }

    /// <summary>x86 "model" number (the same marketing name can hide several); Arm: the part number.</summary>
    public int? ModelNumber { get; init; }

    /// <summary>x86 "stepping"; Arm: variant x 16 + revision.</summary>
    public int? Stepping { get; init; }

    public string? Microcode { get; init; }

    /// <summary>
    /// The flags looked for when <see cref="Features"/> was recorded; null in files written before it
    /// was, which looked for <see cref="HardwareProbe.LegacyCheckedFeatures"/>. Two files' features are
    /// compared over the flags both looked for.
    /// </summary>
    public IReadOnlyList<string>? CheckedFeatures { get; init; }
}

/// <summary>One GPU as NVML lists it; the init-only fields are null where NVML or the driver does not say.</summary>
public sealed record GpuInfo(int Index, string Name, string? Uuid, string Driver, long MemoryBytes, double? PowerLimitW)
{
    /// <summary>"enabled" or "disabled" (nvmlDeviceGetMigMode, current mode); null where MIG is not supported.</summary>
    public string? MigMode { get; init; }

    /// <summary>Highest SM clock the card can run (nvmlDeviceGetMaxClockInfo).</summary>
    public double? MaxSmClockMhz { get; init; }

    public double? MaxMemoryClockMhz { get; init; }

    /// <summary>The application SM clock set on the card (nvidia-smi -ac), a limit the kernels run at.</summary>
    public double? ApplicationSmClockMhz { get; init; }

    public double? ApplicationMemoryClockMhz { get; init; }
}
