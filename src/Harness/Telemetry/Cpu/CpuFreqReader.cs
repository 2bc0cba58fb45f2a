namespace Harness.Telemetry.Cpu;

/// <summary>
/// The cores' clock from cpufreq: the mean scaling_cur_freq (kHz) of up to 16 cores spread evenly
/// over the machine. Absent on many VMs; then <see cref="CpuInfoReader"/> is the fallback.
/// </summary>
public sealed class CpuFreqReader
{
    public const string CpuRoot = "/sys/devices/system/cpu";

    private readonly ISystemFiles _files;
    private readonly string[] _paths;
    private readonly byte[] _buffer = new byte[64];

    public CpuFreqReader(ISystemFiles files)
    {
        _files = files;
        List<string> cores = files.ListDirectories(CpuRoot)
            .Where(d => d.Length > 3 && d.StartsWith("cpu", StringComparison.Ordinal) && d[3..].All(char.IsAsciiDigit))
            .Select(d => $"{CpuRoot}/{d}/cpufreq/scaling_cur_freq")
            .Where(files.Exists)
            .ToList();
        int step = Math.Max(1, (cores.Count + 15) / 16);
        _paths = cores.Where((_, i) => i % step == 0).Take(16).ToArray();
    }

    /// <summary>The scaling_cur_freq files read; empty where cpufreq is absent.</summary>
    public IReadOnlyList<string> Paths => _paths;

    public bool Present => _paths.Length > 0;

    /// <summary>Mean clock in MHz of the files that could be read; NaN when none could.</summary>
    public double MeanMhz()
    {
        double sum = 0;
        int count = 0;
        foreach (string path in _paths)
        {
            int n = _files.Read(path, _buffer);
            if (n > 0)
            {
                sum += ProcStat.ParseLong(_buffer.AsSpan(0, n).Trim("\n "u8)) / 1000.0;
                count++;
            }
        }

        return count > 0 ? sum / count : double.NaN;
    }
}
