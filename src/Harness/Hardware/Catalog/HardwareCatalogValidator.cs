namespace Harness.Hardware.Catalog;

/// <summary>
/// Checks a hardware catalog on load: each number has the unit its field promises, a source the
/// catalog lists and an ISO date; each GPU has the figures a projection needs.
/// </summary>
internal static class HardwareCatalogValidator
{
    public const string Tflops = "TFLOP/s";
    public const string Gb = "GB";
    public const string Tbps = "TB/s";
    public const string Gbps = "GB/s";
    public const string Watts = "W";
    public const string Gpus = "GPUs";
    public const string Micros = "us";

    public static void Validate(HardwareCatalog c, string origin)
    {
        if (c.CatalogVersion != HardwareCatalog.SupportedVersion)
        {
            throw HarnessException.BadInput($"{origin} has catalog_version {c.CatalogVersion}; this harness reads version {HardwareCatalog.SupportedVersion}.");
        }

        foreach ((string key, CatalogSource s) in c.Sources)
        {
            if (string.IsNullOrWhiteSpace(s.Ref) || CatalogFile.ParseDate(s.Date) is null)
            {
                throw HarnessException.BadInput($"{origin}: source '{key}' needs a ref and a date (yyyy-MM-dd).");
            }
        }

        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (HardwareSpec d in c.Devices)
        {
            string where = $"{origin}: device '{d.Id}'";
            if (string.IsNullOrWhiteSpace(d.Id) || !ids.Add(d.Id) || d.Aliases.Any(a => !ids.Add(a)))
            {
                throw HarnessException.BadInput($"{where} has an empty or repeated id or alias.");
            }

            if (d.Kind is not ("gpu" or "cpu"))
            {
                throw HarnessException.BadInput($"{where} has kind '{d.Kind}'; use gpu or cpu.");
            }

            foreach ((string dtype, Quantity q) in d.PeakDenseTflops)
            {
                Check(c, q, Tflops, $"{where} peak_dense_tflops.{dtype}");
            }

            Check(c, d.MemoryGb, Gb, $"{where} memory_gb");
            Check(c, d.UsableMemoryGb, Gb, $"{where} usable_memory_gb");
            Check(c, d.MemoryBandwidthTbps, Tbps, $"{where} memory_bandwidth_tbps");
            Check(c, d.PowerW, Watts, $"{where} power_w");
            Check(c, d.ScaleUp?.BandwidthGbps, Gbps, $"{where} scale_up.bandwidth_gbps");
            Check(c, d.ScaleUp?.DomainGpus, Gpus, $"{where} scale_up.domain_gpus");
            Check(c, d.ScaleUp?.LatencyUs, Micros, $"{where} scale_up.latency_us");
            Check(c, d.ScaleOut?.BandwidthGbps, Gbps, $"{where} scale_out.bandwidth_gbps");
            Check(c, d.ScaleOut?.LatencyUs, Micros, $"{where} scale_out.latency_us");
            if (d.Measured is { } m)
            {
                foreach ((string dtype, Quantity q) in m.Tflops)
                {
                    Check(c, q, Tflops, $"{where} measured.tflops.{dtype}");
                }

                Check(c, m.MemoryBandwidthTbps, Tbps, $"{where} measured.memory_bandwidth_tbps");
                Check(c, m.ScaleUpGbps, Gbps, $"{where} measured.scale_up_gbps");
            }

            if (d.IsGpu)
            {
                string? missing = !d.PeakDenseTflops.ContainsKey("bf16") ? "peak_dense_tflops.bf16"
                    : d.MemoryGb is null ? "memory_gb"
                    : d.MemoryBandwidthTbps is null ? "memory_bandwidth_tbps"
                    : d.ScaleUp?.BandwidthGbps is null || d.ScaleUp.DomainGpus is null ? "scale_up"
                    : d.PowerW is null ? "power_w"
                    : d.NvmlNames.Count == 0 ? "nvml_names"
                    : null;
                if (missing is not null)
                {
                    throw HarnessException.BadInput($"{where} is a GPU without {missing}.");
                }
            }
            else if (d.Measured is null || d.Measured.Tflops.Count == 0)
            {
                throw HarnessException.BadInput($"{where} is a CPU without a measured ceiling (measured.tflops).");
            }
        }
    }

    private static void Check(HardwareCatalog c, Quantity? q, string unit, string where)
    {
        if (q is null)
        {
            return;
        }

        if (!string.Equals(q.Unit, unit, StringComparison.Ordinal))
        {
            throw HarnessException.BadInput($"{where} is in '{q.Unit ?? "(no unit)"}'; this field is in {unit}.");
        }

        if (!(q.Value > 0) || double.IsInfinity(q.Value))
        {
            throw HarnessException.BadInput($"{where} must be a positive number.");
        }

        if (q.Source is null || !c.Sources.ContainsKey(q.Source))
        {
            throw HarnessException.BadInput($"{where} cites source '{q.Source ?? "(none)"}', which the catalog's sources do not list.");
        }

        if (CatalogFile.ParseDate(q.Date) is null)
        {
            throw HarnessException.BadInput($"{where} has no date (yyyy-MM-dd).");
        }
    }
}
