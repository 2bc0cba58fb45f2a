using Harness.Backends;
using Harness.Hardware.Catalog;
using Harness.Metrics;
using Harness.Results;

namespace Harness.Models;

/// <summary>Peak rates of a device: dense FLOP/s at one dtype and memory bandwidth, with their source.</summary>
public sealed record PeakRates(string Device, double? FlopsPerS, double? BytesPerS, string Source)
{
    /// <summary>
    /// Datasheet peaks of a GPU from the hardware catalog (catalog/hardware.json, matched by NVML
    /// name): dense FLOP/s at the dtype (fp16 reads bf16) and memory bandwidth. Null for CPUs and
    /// unknown cards, whose ceilings come from the gemm and copy workloads instead.
    /// </summary>
    public static PeakRates? ForGpu(string? gpuName, TensorDType dtype)
    {
        if (gpuName is null)
        {
            return null;
        }

        HardwareSpec? spec = HardwareCatalog.Default.MatchGpuName(gpuName);
        return spec is null
            ? null
            : new PeakRates(spec.Id, spec.PeakFlops(dtype.ShortName()), spec.PeakBandwidth, $"catalog/hardware.json entry {spec.Id} ({spec.Name}), dense datasheet peaks");
    }

    /// <summary>
    /// Ceilings measured by the gemm and copy workloads on this machine, read from their result files
    /// (<c>metrics.achieved_flops_per_s</c>, <c>metrics.achieved_bytes_per_s</c>); the largest of each.
    /// </summary>
    public static PeakRates? Measured(IEnumerable<string> resultFiles)
    {
        double? flops = null, bytes = null;
        var sources = new List<string>();
        foreach (string file in resultFiles)
        {
            ResultMetrics m = ResultReader.ReadDocument(file).Metrics;
            if (m.Value(MetricCatalog.AchievedFlopsPerS) is { } f)
            {
                flops = Math.Max(flops ?? 0, f);
                sources.Add(Path.GetFileName(file));
            }

            if (m.Value(MetricCatalog.AchievedBytesPerS) is { } b)
            {
                bytes = Math.Max(bytes ?? 0, b);
                sources.Add(Path.GetFileName(file));
            }
        }

        return flops is null && bytes is null ? null : new PeakRates("measured", flops, bytes, "measured by " + string.Join(", ", sources.Distinct()));
    }
}
