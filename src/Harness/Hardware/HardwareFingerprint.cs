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
}

public sealed record CpuInfo(string Model, int LogicalCores, IReadOnlyList<string> Features);

public sealed record GpuInfo(int Index, string Name, string? Uuid, string Driver, long MemoryBytes, double? PowerLimitW);
