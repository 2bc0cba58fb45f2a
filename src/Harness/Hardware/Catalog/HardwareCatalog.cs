using System.Text.RegularExpressions;

namespace Harness.Hardware.Catalog;

/// <summary>
/// The hardware catalog (catalog/hardware.json, versioned): looked up by id or alias, matched
/// against a run's hardware fingerprint, and checked on load so that every number has a unit,
/// a known source and a date.
/// </summary>
public sealed class HardwareCatalog
{
    public const int SupportedVersion = 1;

    private static readonly Lazy<HardwareCatalog> BuiltIn = new(() => Parse(CatalogFile.ReadBuiltIn("hardware.json"), "catalog/hardware.json"));

    public int CatalogVersion { get; init; }

    public string? Updated { get; init; }

    public List<string> Notes { get; init; } = [];

    public Dictionary<string, CatalogSource> Sources { get; init; } = [];

    public List<HardwareSpec> Devices { get; init; } = [];

    /// <summary>The catalog built into this harness.</summary>
    public static HardwareCatalog Default => BuiltIn.Value;

    public static HardwareCatalog Parse(string json, string origin)
    {
        var catalog = CatalogFile.Deserialize<HardwareCatalog>(json, origin);
        HardwareCatalogValidator.Validate(catalog, origin);
        return catalog;
    }

    public IEnumerable<string> Ids => Devices.Select(d => d.Id);

    /// <summary>The device with this id or alias (case-insensitive), or null.</summary>
    public HardwareSpec? Find(string name)
    {
        string n = name.Trim();
        return Devices.FirstOrDefault(d => string.Equals(d.Id, n, StringComparison.OrdinalIgnoreCase))
            ?? Devices.FirstOrDefault(d => d.Aliases.Any(a => string.Equals(a, n, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>The device with this id or alias; an unknown name is bad input that lists the known ones.</summary>
    public HardwareSpec Get(string name) =>
        Find(name) ?? throw HarnessException.BadInput($"Unknown card '{name}'; {CatalogFile.Known(Ids)}");

    /// <summary>The catalog entry for an NVML device name ("NVIDIA H100 80GB HBM3"), or null.</summary>
    public HardwareSpec? MatchGpuName(string gpuName) =>
        Devices.FirstOrDefault(d => d.NvmlNames.Any(p => Regex.IsMatch(gpuName, p, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)));

    /// <summary>The entry for what a run ran on: its first GPU, else a matching CPU entry; null when unknown.</summary>
    public HardwareSpec? Match(HardwareFingerprint? hardware)
    {
        if (hardware is null)
        {
            return null;
        }

        if (hardware.Gpus.Count > 0)
        {
            return MatchGpuName(hardware.Gpus[0].Name);
        }

        return Devices.FirstOrDefault(d => d.CpuMatch is { } m
            && m.Model is not null && hardware.Cpu.Model.Contains(m.Model, StringComparison.OrdinalIgnoreCase)
            && (m.LogicalCores is null || m.LogicalCores == hardware.Cpu.LogicalCores));
    }

    /// <summary>The card a result ran on: the one named (<c>--from</c>), else the fingerprint's match; bad input when neither is known.</summary>
    public HardwareSpec ForRun(HardwareFingerprint? hardware, string? named, string origin)
    {
        if (named is not null)
        {
            return Get(named);
        }

        string seen = hardware?.Gpus.FirstOrDefault()?.Name ?? hardware?.Cpu.Model ?? "unrecorded hardware";
        return Match(hardware) ?? throw HarnessException.BadInput(
            $"Result {origin} ran on '{seen}', which the hardware catalog does not know; name the card with --from ({CatalogFile.Known(Ids).TrimEnd('.')}).");
    }
}
