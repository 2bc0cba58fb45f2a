using System.Text.RegularExpressions;

namespace Harness.Telemetry.Cpu;

/// <summary>
/// Package energy from RAPL under /sys/class/powercap: the energy_uj counter of every package zone
/// (intel-rapl:N; its core, uncore and dram sub-zones are inside it), summed and unwrapped.
/// </summary>
public sealed partial class RaplReader
{
    public const string PowercapRoot = "/sys/class/powercap";

    private readonly ISystemFiles _files;
    private readonly Zone[] _zones;
    private readonly byte[] _buffer = new byte[64];
    private double _energyUj;

    public RaplReader(ISystemFiles files)
    {
        _files = files;
        var zones = new List<Zone>();
        bool unreadable = false;
        foreach (string dir in files.ListDirectories(PowercapRoot))
        {
            if (!PackageZone().IsMatch(dir))
            {
                continue; // sub-zones (core, uncore, dram) are inside their package
            }

            string energy = $"{PowercapRoot}/{dir}/energy_uj";
            if (files.Read(energy, _buffer) <= 0)
            {
                unreadable |= files.Exists(energy);
                continue;
            }

            int n = files.Read($"{PowercapRoot}/{dir}/max_energy_range_uj", _buffer);
            long range = n > 0 ? ProcStat.ParseLong(_buffer.AsSpan(0, n).Trim("\n "u8)) : long.MaxValue;
            zones.Add(new Zone(energy, range));
        }

        _zones = [.. zones];
        Note = _zones.Length > 0 ? null
            : unreadable
                ? $"RAPL energy counters ({PowercapRoot}/intel-rapl:*/energy_uj) exist but are readable by root only "
                    + "(Linux 5.10 and later); run as root or grant read access"
                : $"no RAPL package zone under {PowercapRoot} (a VM, a container without /sys/class/powercap, or a CPU without RAPL)";
    }

    /// <summary>Why package energy is not read; null when at least one package zone is readable.</summary>
    public string? Note { get; }

    public bool HasZones => _zones.Length > 0;

    /// <summary>
    /// Package energy in microjoules since the first reading, all packages summed, each counter unwrapped at
    /// its max_energy_range_uj; NaN without RAPL or when a zone cannot be read.
    /// </summary>
    public double ReadUj()
    {
        if (_zones.Length == 0)
        {
            return double.NaN;
        }

        foreach (Zone zone in _zones)
        {
            int n = _files.Read(zone.EnergyPath, _buffer);
            if (n <= 0)
            {
                return double.NaN;
            }

            long raw = ProcStat.ParseLong(_buffer.AsSpan(0, n).Trim("\n "u8));
            if (zone.Last >= 0)
            {
                long delta = raw - zone.Last;
                _energyUj += delta >= 0 ? delta : delta + zone.RangeUj; // the counter wrapped
            }

            zone.Last = raw;
        }

        return _energyUj;
    }

    [GeneratedRegex(@"^intel-rapl:\d+$")]
    private static partial Regex PackageZone();

    private sealed class Zone(string energyPath, long rangeUj)
    {
        public string EnergyPath { get; } = energyPath;

        public long RangeUj { get; } = rangeUj;

        public long Last { get; set; } = -1;
    }
}
