namespace Harness.Telemetry.Cpu;

/// <summary>
/// This process from /proc/self/stat (fields 14 to 17 and 24): utime + stime in seconds, the same
/// plus the reaped children's (cutime + cstime: the agents' tool processes are this run's work, not a
/// neighbour's), and RSS in bytes.
/// </summary>
public sealed class SelfStatReader(ISystemFiles files, double clockTicksPerSecond, long pageSize)
{
    public const string Path = "/proc/self/stat";

    private readonly byte[] _buffer = new byte[4096];

    /// <summary>NaN in every field when the file cannot be read or parsed.</summary>
    public (double CpuSeconds, double WithChildrenSeconds, double RssBytes) Read()
    {
        int n = files.Read(Path, _buffer);
        if (n <= 0 || !ProcStat.TryParse(_buffer.AsSpan(0, n), out ProcStat stat))
        {
            return (double.NaN, double.NaN, double.NaN);
        }

        double withChildren = (stat.OwnTicks + stat.CUTime + stat.CSTime) / clockTicksPerSecond;
        return (stat.OwnTicks / clockTicksPerSecond, withChildren, stat.RssPages * (double)pageSize);
    }
}
