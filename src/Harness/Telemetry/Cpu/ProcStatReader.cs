namespace Harness.Telemetry.Cpu;

/// <summary>
/// The first eight fields of a /proc/stat cpu line, in clock ticks (USER_HZ): user nice system idle
/// iowait irq softirq steal. Guest time is already in user.
/// </summary>
public readonly record struct CpuTicks(long User, long Nice, long System, long Idle, long IoWait, long Irq, long SoftIrq, long Steal)
{
    /// <summary>user + nice + system: time charged to processes.</summary>
    public long UserSystem => User + Nice + System;

    /// <summary>irq + softirq: time charged to no process.</summary>
    public long Interrupt => Irq + SoftIrq;

    public long Total => User + Nice + System + Idle + IoWait + Irq + SoftIrq + Steal;

    /// <summary>Everything but idle and iowait.</summary>
    public long Busy => Total - Idle - IoWait;

    /// <summary>The fields after "cpu" or "cpuN"; a field that is absent counts 0.</summary>
    public static CpuTicks Parse(ReadOnlySpan<byte> fields)
    {
        Span<long> v = stackalloc long[8];
        for (int i = 0; i < v.Length && !fields.IsEmpty; i++)
        {
            fields = fields.TrimStart((byte)' ');
            int end = fields.IndexOf((byte)' ');
            v[i] = ProcStat.ParseLong(end < 0 ? fields : fields[..end]);
            fields = end < 0 ? default : fields[end..];
        }

        return new CpuTicks(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    }
}

/// <summary>
/// /proc/stat: the machine's "cpu" line and each core's busy and total ticks. Reads into a reused
/// buffer (grown while the file fills it); a reading allocates nothing once the buffer fits.
/// </summary>
public sealed class ProcStatReader(ISystemFiles files)
{
    public const string Path = "/proc/stat";

    private byte[] _buffer = new byte[64 * 1024];
    private long[] _busy = new long[64];
    private long[] _total = new long[64];

    /// <summary>Cores listed by the latest reading (the highest "cpuN" plus one).</summary>
    public int Cores { get; private set; }

    /// <summary>Busy ticks of each core at the latest reading.</summary>
    public ReadOnlySpan<long> CoreBusy => _busy.AsSpan(0, Cores);

    /// <summary>All ticks of each core at the latest reading.</summary>
    public ReadOnlySpan<long> CoreTotal => _total.AsSpan(0, Cores);

    /// <summary>The machine's "cpu" line at the latest reading that had one.</summary>
    public CpuTicks Machine { get; private set; }

    /// <summary>Whether the latest reading had the machine's "cpu" line.</summary>
    public bool HasMachine { get; private set; }

    /// <summary>Whether the file can be read at all (not Linux, or no procfs).</summary>
    public bool IsReadable()
    {
        Span<byte> probe = stackalloc byte[64];
        return files.Read(Path, probe) > 0;
    }

    /// <summary>Reads the cpu lines; throws <see cref="IOException"/> when the file cannot be read.</summary>
    public void Read()
    {
        int n;
        while ((n = files.Read(Path, _buffer)) == _buffer.Length && _buffer.Length < 16 * 1024 * 1024)
        {
            _buffer = new byte[_buffer.Length * 2];
        }

        if (n <= 0)
        {
            throw new IOException("/proc/stat could not be read");
        }

        int cores = 0;
        HasMachine = false;
        ReadOnlySpan<byte> text = _buffer.AsSpan(0, n);
        while (!text.IsEmpty)
        {
            int eol = text.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = eol < 0 ? text : text[..eol];
            text = eol < 0 ? default : text[(eol + 1)..];
            if (!line.StartsWith("cpu"u8))
            {
                break; // the cpu lines come first; "intr" and the rest are not needed
            }

            int space = line.IndexOf((byte)' ');
            if (space < 0)
            {
                continue;
            }

            CpuTicks ticks = CpuTicks.Parse(line[(space + 1)..]);
            if (space == 3)
            {
                Machine = ticks;
                HasMachine = true;
                continue;
            }

            int core = (int)ProcStat.ParseLong(line[3..space]);
            if (core >= _busy.Length)
            {
                Array.Resize(ref _busy, core + 1);
                Array.Resize(ref _total, core + 1);
            }

            _busy[core] = ticks.Busy;
            _total[core] = ticks.Total;
            cores = Math.Max(cores, core + 1);
        }

        Cores = cores;
    }
}
