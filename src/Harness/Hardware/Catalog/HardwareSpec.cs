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
    /// fp8's per-tensor scales are negligible. Block-quantized integers count their scales: llama.cpp's
    /// q8_0 and q4_0 (an fp16 scale per 32: 8.5 and 4.5 bits), and the harness's int8/int4 weight-only
    /// quantization at its default block of 32, symmetric (the same 8.5 and 4.5 bits; other blocks:
    /// <see cref="QuantizedBytesPerElement"/>).
    /// </summary>
    public static double BytesPerElement(string dtype) => NormalizeDtype(dtype) switch
    {
        "fp32" => 4,
        "bf16" => 2,
        "fp8" => 1,
        "fp4" => 0.5625,
        "int8" or "q8_0" => QuantizedBytesPerElement(8, 32, zeroPoints: false),
        "int4" or "q4_0" => QuantizedBytesPerElement(4, 32, zeroPoints: false),
        _ => throw HarnessException.BadInput($"Unknown dtype '{dtype}'; use bf16, fp16, fp8, fp4, fp32, int8, int4, q8_0 or q4_0."),
    };

    /// <summary>
    /// Bytes per weight of a block-quantized matrix: <paramref name="bits"/> per weight, plus one scale of
    /// <paramref name="scaleBits"/> (16: fp16, as llama.cpp's blocks and an fp16 graph; 32 where the graph
    /// computes in fp32) per block of <paramref name="block"/> (bits + 16/B), plus a zero point of
    /// <paramref name="bits"/> per block when asymmetric (+ bits/B); divided by 8.
    /// </summary>
    public static double QuantizedBytesPerElement(int bits, int block, bool zeroPoints, int scaleBits = 16) =>
        (bits + ((double)scaleBits / block) + (zeroPoints ? (double)bits / block : 0)) / 8;
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
