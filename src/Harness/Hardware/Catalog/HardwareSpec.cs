namespace Harness.Hardware.Catalog;

/// <summary>
/// One accelerator (or CPU) of the hardware catalog, per device: dense peaks by dtype, memory,
/// bandwidth, scale-up link and power, plus measured achievable ceilings where known.
/// </summary>
public sealed class HardwareSpec
{
    public string Id { get; init; } = "";

    public string Name { get; init; } = "";

    public string? Vendor { get; init; }

    /// <summary>"gpu" or "cpu".</summary>
    public string Kind { get; init; } = "gpu";

    public List<string> Aliases { get; init; } = [];

    /// <summary>Regular expressions (case-insensitive) matched against the NVML device name of a run.</summary>
    public List<string> NvmlNames { get; init; } = [];

    /// <summary>For CPU entries: the CPU model substring and core count a run's fingerprint must show.</summary>
    public CpuMatch? CpuMatch { get; init; }

    /// <summary>Dense (no 2:4 sparsity) datasheet peaks by dtype (bf16, fp8, fp4...), TFLOP/s.</summary>
    public Dictionary<string, Quantity> PeakDenseTflops { get; init; } = [];

    public Quantity? MemoryGb { get; init; }

    /// <summary>What software can use where it differs from the nameplate (B200: 180 of 192 GB).</summary>
    public Quantity? UsableMemoryGb { get; init; }

    public Quantity? MemoryBandwidthTbps { get; init; }

    public ScaleUpSpec? ScaleUp { get; init; }

    /// <summary>The network between scale-up domains (the NIC per GPU), where the catalog knows it.</summary>
    public ScaleOutSpec? ScaleOut { get; init; }

    public Quantity? PowerW { get; init; }

    public MeasuredCeilings? Measured { get; init; }

    public string? Note { get; init; }

    public bool IsGpu => Kind == "gpu";

    /// <summary>Datasheet dense peak in FLOP/s for a dtype; fp16 reads the bf16 peak.</summary>
    public double? PeakFlops(string dtype) => Tflops(PeakDenseTflops, dtype);

    /// <summary>Measured achievable FLOP/s for a dtype (matrix products), when known.</summary>
    public double? MeasuredFlops(string dtype) => Measured is null ? null : Tflops(Measured.Tflops, dtype);

    public double? PeakBandwidth => MemoryBandwidthTbps?.Value * 1e12;

    public double? MeasuredBandwidth => Measured?.MemoryBandwidthTbps?.Value * 1e12;

    /// <summary>Bytes software can use: the usable figure where given, else the nameplate.</summary>
    public double? UsableMemoryBytes => (UsableMemoryGb ?? MemoryGb)?.Value * 1e9;

    /// <summary>Scale-up link bytes/s per GPU per direction: measured where known, else datasheet.</summary>
    public double? LinkBandwidth => (Measured?.ScaleUpGbps ?? ScaleUp?.BandwidthGbps)?.Value * 1e9;

    public int DomainGpus => (int)(ScaleUp?.DomainGpus?.Value ?? 1);

    public override string ToString() => Id;

    private static double? Tflops(Dictionary<string, Quantity> map, string dtype)
    {
        string key = NormalizeDtype(dtype);
        return map.TryGetValue(key, out Quantity? q) ? q.Value * 1e12 : null;
    }

    /// <summary>fp16 runs at the bf16 rate on every card here; names are lower case.</summary>
    public static string NormalizeDtype(string dtype)
    {
        string d = dtype.Trim().ToLowerInvariant();
        return d switch
        {
            "fp16" or "float16" or "half" or "bfloat16" => "bf16",
            "float32" or "float" => "fp32",
            "float8" or "e4m3" or "fp8_e4m3" => "fp8",
            "nvfp4" or "mxfp4" => "fp4",
            _ => d,
        };
    }

    /// <summary>
    /// Bytes per stored element of a dtype (weights, KV cache), scales included: fp4 is NVFP4, 4-bit
    /// values plus one fp8 scale per 16 (4.5 bits; MXFP4's one 8-bit scale per 32 would be 4.25);
    /// fp8's per-tensor scales are negligible.
    /// </summary>
    public static double BytesPerElement(string dtype) => NormalizeDtype(dtype) switch
    {
        "fp32" => 4,
        "bf16" => 2,
        "fp8" or "int8" => 1,
        "fp4" => 0.5625,
        "int4" => 0.5,
        _ => throw HarnessException.BadInput($"Unknown dtype '{dtype}'; use bf16, fp16, fp8, fp4 or fp32."),
    };
}

public sealed class ScaleUpSpec
{
    public string? Name { get; init; }

    /// <summary>Per GPU, one direction, GB/s.</summary>
    public Quantity? BandwidthGbps { get; init; }

    /// <summary>GPUs in one scale-up domain (8 for HGX, 72 for NVL72): the largest tensor-parallel group.</summary>
    public Quantity? DomainGpus { get; init; }

    /// <summary>Latency of one step of a ring collective over the link, microseconds.</summary>
    public Quantity? LatencyUs { get; init; }
}

/// <summary>The network between scale-up domains, per GPU: its NIC's bandwidth (one direction, GB/s) and per-step latency.</summary>
public sealed class ScaleOutSpec
{
    public string? Name { get; init; }

    public Quantity? BandwidthGbps { get; init; }

    public Quantity? LatencyUs { get; init; }
}

public sealed class MeasuredCeilings
{
    public Dictionary<string, Quantity> Tflops { get; init; } = [];

    public Quantity? MemoryBandwidthTbps { get; init; }

    public Quantity? ScaleUpGbps { get; init; }
}

public sealed class CpuMatch
{
    public string? Model { get; init; }

    public int? LogicalCores { get; init; }
}
