using System.Text.Json;

namespace Harness.Models;

/// <summary>Peak rates of a device: dense FLOP/s at one dtype and memory bandwidth, with their source.</summary>
public sealed record PeakRates(string Device, double? FlopsPerS, double? BytesPerS, string Source)
{
    private const string Catalog = "datasheet dense peaks, as collected in shared/research/capacity.md section 2 (stas00/ml-engineering tables)";

    /// <summary>
    /// Catalog peaks of the few cards the decoder targets name (H100 SXM/PCIe, H200); null for
    /// anything else, including CPUs, whose ceilings come from the gemm and copy workloads.
    /// The full catalog arrives with the capacity-planning feature.
    /// </summary>
    public static PeakRates? ForGpu(string? gpuName, TensorDType dtype)
    {
        if (gpuName is null)
        {
            return null;
        }

        string n = gpuName.ToUpperInvariant();
        (double half, double fp32, double bw, string card) = n switch
        {
            _ when n.Contains("H200", StringComparison.Ordinal) => (989e12, 67e12, 4.8e12, "H200 SXM"),
            _ when n.Contains("H100", StringComparison.Ordinal) && n.Contains("PCIE", StringComparison.Ordinal) => (756e12, 51e12, 2.0e12, "H100 PCIe"),
            _ when n.Contains("H100", StringComparison.Ordinal) => (989e12, 67e12, 3.35e12, "H100 SXM"),
            _ => (0d, 0d, 0d, ""),
        };
        return card.Length == 0 ? null : new PeakRates(card, dtype == TensorDType.Float32 ? fp32 : half, bw, Catalog);
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
            try
            {
                using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
                if (!doc.RootElement.TryGetProperty("metrics", out JsonElement m))
                {
                    continue;
                }

                if (m.TryGetProperty("achieved_flops_per_s", out JsonElement f) && f.ValueKind == JsonValueKind.Number)
                {
                    flops = Math.Max(flops ?? 0, f.GetDouble());
                    sources.Add(Path.GetFileName(file));
                }

                if (m.TryGetProperty("achieved_bytes_per_s", out JsonElement b) && b.ValueKind == JsonValueKind.Number)
                {
                    bytes = Math.Max(bytes ?? 0, b.GetDouble());
                    sources.Add(Path.GetFileName(file));
                }
            }
            catch (Exception e) when (e is JsonException or IOException)
            {
                throw HarnessException.BadInput($"Ceiling result file '{file}' cannot be read: {e.Message}", e);
            }
        }

        return flops is null && bytes is null ? null : new PeakRates("measured", flops, bytes, "measured by " + string.Join(", ", sources.Distinct()));
    }
}
