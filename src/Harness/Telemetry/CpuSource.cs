using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Harness.Telemetry;

/// <summary>
/// The host CPU and this process: per-core busy time from /proc/stat, the process's CPU time and
/// resident memory from /proc/self/stat, and package energy from /sys/class/powercap (RAPL) where
/// readable. Also what disturbs a run (issue 18): the CPU time of every other process (the
/// machine's user + nice + system time minus this process and the children it reaped), steal and
/// interrupt time, the CPU clock (every second) and /proc/pressure. With a server under test on this
/// machine (<see cref="ServerProcessTree"/>), its process tree is read at each reading and left out of
/// the other processes (a scan of /proc for its children once a second). Reads bytes into reused
/// buffers: a reading costs a few file reads and no parsing garbage.
/// </summary>
public sealed partial class CpuSource : ITelemetrySource
{
    public const string PowercapRoot = "/sys/class/powercap";

    /// <summary>Least time between CPU clock readings: /proc/cpuinfo makes the kernel ask every core for its clock.</summary>
    public static readonly TimeSpan FrequencyInterval = TimeSpan.FromSeconds(1);

    /// <summary>A reading whose mean clock moved more than this from the previous one counts as a change.</summary>
    public const double FrequencyChangeThreshold = 0.05;

    private static readonly string[] PressureFiles = ["/proc/pressure/cpu", "/proc/pressure/memory", "/proc/pressure/io"];

    private readonly ISystemFiles _files;
    private readonly long _frequency;
    private readonly double _clockTicksPerSecond;
    private readonly long _pageSize;
    private readonly RaplZone[] _zones;
    private readonly SampleBuffer<CpuReading> _buffer;
    private readonly Lock _gate = new();
    private byte[] _statBuffer = new byte[64 * 1024];
    private readonly byte[] _smallBuffer = new byte[4096];
    private long[] _busy = new long[64];
    private long[] _total = new long[64];
    private long[]? _firstBusy;
    private long[]? _firstTotal;
    private long[] _lastBusy = [];
    private long[] _lastTotal = [];
    private int _cores;
    private long _prevAllBusy = -1, _prevAllTotal = -1;
    private double _energyUj;
    private double? _firstEnergyUj;
    private CpuReading _latest;
    private CpuReading _previous;
    private readonly long _frequencyIntervalTicks;
    private long _lastFrequencyRead = long.MinValue;
    private readonly string[] _frequencyFiles;
    private readonly long[] _aggregate = new long[8];
    private readonly ServerProcessTree? _server;

    /// <param name="clockFrequency">Ticks per second of the timestamps passed to <see cref="Sample"/>.</param>
    /// <param name="files">The file system; fixed text in tests.</param>
    /// <param name="clockTicksPerSecond">USER_HZ of /proc times; null asks sysconf (100 nearly everywhere).</param>
    /// <param name="server">The server under test on this machine, read at every reading, not counted among the other processes.</param>
    /// <param name="ownPid">This process's PID as /proc names it (tests fake it); a server inside this process is not read twice.</param>
    public CpuSource(
        long clockFrequency,
        ISystemFiles? files = null,
        double? clockTicksPerSecond = null,
        long? pageSize = null,
        int capacity = SampleBuffer<CpuReading>.DefaultCapacity,
        ServerLocation? server = null,
        int? ownPid = null)
    {
        _files = files ?? SystemFiles.Instance;
        _frequency = clockFrequency;
        _clockTicksPerSecond = clockTicksPerSecond ?? ClockTicksPerSecond();
        _pageSize = pageSize ?? Environment.SystemPageSize;
        _buffer = new SampleBuffer<CpuReading>(capacity);
        _server = server is null ? null : new ServerProcessTree(server, _files, _clockTicksPerSecond, _pageSize, ownPid);
        (_zones, PackageEnergyNote) = FindRaplZones(_files);
        _frequencyIntervalTicks = (long)(FrequencyInterval.TotalSeconds * clockFrequency);
        _frequencyFiles = FindFrequencyFiles(_files);
        if (_files.Read("/proc/stat", _smallBuffer) <= 0)
        {
            UnavailableReason = "/proc/stat is not readable (not Linux?)";
        }
    }

    public string Name => "cpu";

    public string? UnavailableReason { get; }

    /// <summary>Why package energy is not read; null when at least one RAPL package zone is readable.</summary>
    public string? PackageEnergyNote { get; }

    public bool HasPackageEnergy => _zones.Length > 0;

    public void Sample(long timestamp, bool windowEdge = false)
    {
        lock (_gate)
        {
            double utilization = ReadProcStat();
            (double cpuSeconds, double ownWithChildren, double rss) = ReadProcessStat();
            double energy = ReadEnergy();
            double frequency = double.NaN;
            bool slow = windowEdge || _lastFrequencyRead == long.MinValue || timestamp - _lastFrequencyRead >= _frequencyIntervalTicks;
            if (slow)
            {
                _lastFrequencyRead = timestamp;
                frequency = ReadFrequencyMhz();
            }

            (double serverCpuS, double serverRss) = _server?.Read(rescan: slow) ?? (double.NaN, double.NaN);

            var reading = new CpuReading(utilization, cpuSeconds, rss, energy)
            {
                UserSystemTicks = _aggregate[0] + _aggregate[1] + _aggregate[2],
                InterruptTicks = _aggregate[5] + _aggregate[6],
                StealTicks = _aggregate[7],
                TotalTicks = _aggregate.Sum(),
                OwnWithChildrenS = ownWithChildren,
                FrequencyMhz = frequency,
                PressureCpuSomeUs = ReadPressure(0, full: false),
                PressureMemorySomeUs = ReadPressure(1, full: false),
                PressureMemoryFullUs = ReadPressure(1, full: true),
                PressureIoSomeUs = ReadPressure(2, full: false),
                ServerCpuS = serverCpuS,
                ServerRssBytes = serverRss,
            };
            _previous = _latest;
            _latest = reading;
            _buffer.Add(timestamp, reading);
        }
    }

    /// <summary>The latest reading and package energy since the first one, for live metrics.</summary>
    public CpuLive Live()
    {
        lock (_gate)
        {
            bool interval = _buffer.Count > 1 && _latest.TotalTicks > _previous.TotalTicks;
            double totalTicks = _latest.TotalTicks - _previous.TotalTicks;
            return new CpuLive(
                _buffer.Count,
                double.IsNaN(_latest.Utilization) ? null : _latest.Utilization,
                double.IsNaN(_latest.ProcessCpuSeconds) ? null : _latest.ProcessCpuSeconds,
                double.IsNaN(_latest.RssBytes) ? null : (long)_latest.RssBytes,
                _firstEnergyUj is { } first && !double.IsNaN(_latest.PackageEnergyUj) ? (_latest.PackageEnergyUj - first) / 1e6 : null)
            {
                OtherProcessesCores = interval ? OtherCores(_previous, _latest) : null,
                StealShare = interval ? (_latest.StealTicks - _previous.StealTicks) / totalTicks : null,
                FrequencyMhz = LatestFrequency(),
            };
        }
    }

    public void Contribute(TelemetryWindow window, TelemetryReport report)
    {
        if (UnavailableReason is not null)
        {
            return;
        }

        lock (_gate)
        {
            ReadOnlySpan<long> t = _buffer.Timestamps;
            ReadOnlySpan<CpuReading> v = _buffer.Values;
            var util = new double[t.Length];
            var cpuS = new double[t.Length];
            var rss = new double[t.Length];
            var energyJ = new double[t.Length];
            var powerW = new double[t.Length];
            var otherCores = new double[t.Length];
            var stealShare = new double[t.Length];
            for (int i = 0; i < t.Length; i++)
            {
                otherCores[i] = i > 0 && v[i].TotalTicks > v[i - 1].TotalTicks ? OtherCores(v[i - 1], v[i]) : double.NaN;
                stealShare[i] = i > 0 && v[i].TotalTicks > v[i - 1].TotalTicks ? (double)(v[i].StealTicks - v[i - 1].StealTicks) / (v[i].TotalTicks - v[i - 1].TotalTicks) : double.NaN;
                util[i] = v[i].Utilization;
                cpuS[i] = v[i].ProcessCpuSeconds;
                rss[i] = v[i].RssBytes;
                energyJ[i] = v[i].PackageEnergyUj / 1e6;
                powerW[i] = i > 0 && t[i] > t[i - 1] ? (energyJ[i] - energyJ[i - 1]) / ((double)(t[i] - t[i - 1]) / _frequency) : double.NaN;
            }

            double? processCpu = SampleMath.CounterDelta(t, cpuS, window.Start, window.End);
            double? energy = SampleMath.CounterDelta(t, energyJ, window.Start, window.End);
            double?[]? perCore = null;
            if (_firstBusy is not null)
            {
                perCore = new double?[_cores];
                for (int c = 0; c < _cores; c++)
                {
                    long dTotal = _lastTotal[c] - _firstTotal![c];
                    perCore[c] = dTotal > 0 ? Math.Round((double)(_lastBusy[c] - _firstBusy[c]) / dTotal, 4) : null;
                }
            }

            (double[] seconds, double?[][] cols) = SampleMath.Downsample(t, [util, rss, powerW, otherCores, stealShare], window.Start, window.End, window.Frequency, GpuSource.SeriesPoints);
            var columns = new Dictionary<string, object?>
            {
                ["utilization"] = cols[0],
                ["process_rss_bytes"] = cols[1],
                ["other_processes_cores"] = cols[3],
                ["steal_share"] = cols[4],
            };
            if (HasPackageEnergy)
            {
                columns["package_power_w"] = cols[2];
            }

            report.Cpu = new CpuTelemetry
            {
                LogicalCores = _cores,
                Samples = _buffer.Count,
                UtilizationAvg = SampleMath.WeightedMean(t, util, window.Start, window.End),
                UtilizationPeak = SampleMath.Max(t, util, window.Start, window.End),
                PerCoreUtilization = perCore,
                ProcessCpuS = processCpu,
                ProcessCpuCores = processCpu is { } s && window.Seconds > 0 ? s / window.Seconds : null,
                ProcessRssPeakBytes = SampleMath.Max(t, rss, window.Start, window.End) is { } m ? (long)m : null,
                PackageEnergyJ = energy,
                PackagePowerAvgW = energy is { } j && window.Seconds > 0 ? j / window.Seconds : null,
                PackagePowerPeakW = HasPackageEnergy ? SampleMath.Max(t, powerW, window.Start, window.End) : null,
                PackageEnergyNote = PackageEnergyNote ?? (energy is null ? "package energy readings do not bracket the window" : null),
                Series = seconds.Length == 0 ? null : new TelemetrySeries { TS = seconds, Columns = columns },
            };
            report.Server = Server(window, t, v);
            report.Disturbance ??= new DisturbanceReport();
            Disturbance(window, t.ToArray(), v.ToArray(), report.Disturbance);
        }
    }

    /// <summary>The server under test over the window: null when there is none, its note when it is not measured.</summary>
    private ServerProcessTelemetry? Server(TelemetryWindow window, ReadOnlySpan<long> t, ReadOnlySpan<CpuReading> v)
    {
        if (_server is null)
        {
            return null;
        }

        ServerLocation at = _server.Location;
        var server = new ServerProcessTelemetry
        {
            Url = at.Url,
            Pids = [.. at.Pids],
            How = at.How,
            Command = at.Command,
            Note = at.NotMeasured,
        };
        if (!at.Measured)
        {
            return server;
        }

        var cpuS = new double[t.Length];
        var rss = new double[t.Length];
        for (int i = 0; i < t.Length; i++)
        {
            cpuS[i] = v[i].ServerCpuS;
            rss[i] = v[i].ServerRssBytes;
        }

        server.Processes = _server.MostProcesses;
        server.CpuS = SampleMath.CounterDelta(t, cpuS, window.Start, window.End) is { } s ? Math.Round(s, 4) : null;
        server.CpuCores = server.CpuS is { } c && window.Seconds > 0 ? Math.Round(c / window.Seconds, 4) : null;
        server.RssPeakBytes = SampleMath.Max(t, rss, window.Start, window.End) is { } m ? (long)m : null;
        if (server.CpuS is null)
        {
            server.Note = "server CPU not measured: its processes were not readable at both edges of the window (did the server exit?)";
        }

        return server;
    }

    /// <summary>Other processes, steal, interrupts, clock and pressure over the window.</summary>
    private void Disturbance(TelemetryWindow w, long[] t, CpuReading[] v, DisturbanceReport d)
    {
        double? Delta(Func<CpuReading, double> pick)
        {
            var column = new double[t.Length];
            for (int i = 0; i < t.Length; i++)
            {
                column[i] = pick(v[i]);
            }

            return SampleMath.CounterDelta(t, column, w.Start, w.End);
        }

        double? total = Delta(r => r.TotalTicks);
        double? userSystem = Delta(r => r.UserSystemTicks);
        double? own = Delta(r => r.OwnWithChildrenS);
        double? server = Delta(r => r.ServerCpuS);
        if (total is > 0 && userSystem is { } us && own is { } ownS && _cores > 0)
        {
            // Shares of the machine's ticks, so the window's length and USER_HZ cancel out. The server
            // under test is part of the measurement, not a neighbour (issue 24).
            double otherShare = Math.Max(0, (us - (ownS + (server ?? 0)) * _clockTicksPerSecond) / total.Value);
            d.ServerProcessCores = server is { } sv ? Math.Round(sv * _clockTicksPerSecond / total.Value * _cores, 4) : null;
            d.OtherProcessesShare = Math.Round(otherShare, 4);
            d.OtherProcessesCores = Math.Round(otherShare * _cores, 4);
            d.OtherProcessesCpuS = Math.Round(otherShare * _cores * w.Seconds, 3);
            d.OwnProcessCores = Math.Round(ownS * _clockTicksPerSecond / total.Value * _cores, 4);
            d.InterruptCores = Delta(r => r.InterruptTicks) is { } irq ? Math.Round(irq / total.Value * _cores, 4) : null;
            d.StealShare = Delta(r => r.StealTicks) is { } steal ? Math.Round(steal / total.Value, 4) : null;
            d.StealCores = d.StealShare is { } ss ? Math.Round(ss * _cores, 4) : null;
        }
        else
        {
            d.Notes.Add("other processes and steal: /proc/stat or /proc/self/stat readings do not bracket the window");
        }

        var frequencies = new List<double>();
        for (int i = 0; i < t.Length; i++)
        {
            if (!double.IsNaN(v[i].FrequencyMhz) && t[i] >= w.Start - _frequencyIntervalTicks && t[i] <= w.End)
            {
                frequencies.Add(v[i].FrequencyMhz);
            }
        }

        if (frequencies.Count > 0)
        {
            d.CpuFrequencyAvgMhz = Math.Round(frequencies.Average(), 1);
            d.CpuFrequencyMinMhz = frequencies.Min();
            d.CpuFrequencyMaxMhz = frequencies.Max();
            d.CpuFrequencyChanges = frequencies.Zip(frequencies.Skip(1)).Count(p => Math.Abs(p.Second - p.First) > FrequencyChangeThreshold * p.First);
        }
        else
        {
            d.Notes.Add("CPU clock: neither /sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq nor \"cpu MHz\" in /proc/cpuinfo is readable");
        }

        double windowUs = w.Seconds * 1e6;
        double? Pressure(Func<CpuReading, double> pick) => windowUs > 0 && Delta(pick) is { } us2 ? Math.Round(Math.Clamp(us2 / windowUs, 0, 1), 4) : null;
        d.PressureCpuSome = Pressure(r => r.PressureCpuSomeUs);
        d.PressureMemorySome = Pressure(r => r.PressureMemorySomeUs);
        d.PressureMemoryFull = Pressure(r => r.PressureMemoryFullUs);
        d.PressureIoSome = Pressure(r => r.PressureIoSomeUs);
        if (d.PressureCpuSome is null)
        {
            d.Notes.Add("pressure: /proc/pressure is not readable (a kernel without PSI, or psi=0)");
        }
    }

    /// <summary>Cores other processes kept busy between two readings.</summary>
    private double OtherCores(in CpuReading a, in CpuReading b)
    {
        double total = b.TotalTicks - a.TotalTicks;
        double server = double.IsFinite(b.ServerCpuS - a.ServerCpuS) ? b.ServerCpuS - a.ServerCpuS : 0;
        double measured = b.OwnWithChildrenS - a.OwnWithChildrenS + server;
        double other = (b.UserSystemTicks - a.UserSystemTicks - measured * _clockTicksPerSecond) / total;
        return double.IsFinite(other) ? Math.Max(0, other) * _cores : double.NaN;
    }

    private double? LatestFrequency()
    {
        ReadOnlySpan<CpuReading> v = _buffer.Values;
        for (int i = v.Length - 1; i >= 0; i--)
        {
            if (!double.IsNaN(v[i].FrequencyMhz))
            {
                return v[i].FrequencyMhz;
            }
        }

        return null;
    }

    public void Dispose()
    {
    }

    /// <summary>Busy share of all cores since the previous reading (NaN on the first), updating the per-core counters.</summary>
    private double ReadProcStat()
    {
        int n;
        while ((n = _files.Read("/proc/stat", _statBuffer)) == _statBuffer.Length && _statBuffer.Length < 16 * 1024 * 1024)
        {
            _statBuffer = new byte[_statBuffer.Length * 2];
        }

        if (n <= 0)
        {
            throw new IOException("/proc/stat could not be read");
        }

        long allBusy = -1, allTotal = -1;
        int cores = 0;
        ReadOnlySpan<byte> text = _statBuffer.AsSpan(0, n);
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

            (long busy, long total) = BusyAndTotal(line[(space + 1)..]);
            if (space == 3)
            {
                (allBusy, allTotal) = (busy, total);
                ReadFields(line[(space + 1)..], _aggregate);
                continue;
            }

            int core = (int)ParseLong(line[3..space]);
            if (core >= _busy.Length)
            {
                Array.Resize(ref _busy, core + 1);
                Array.Resize(ref _total, core + 1);
            }

            _busy[core] = busy;
            _total[core] = total;
            cores = Math.Max(cores, core + 1);
        }

        if (_firstBusy is null)
        {
            _cores = cores;
            _firstBusy = _busy[..cores];
            _firstTotal = _total[..cores];
            _lastBusy = new long[cores];
            _lastTotal = new long[cores];
        }

        Array.Copy(_busy, _lastBusy, Math.Min(_cores, cores));
        Array.Copy(_total, _lastTotal, Math.Min(_cores, cores));
        double utilization = _prevAllTotal >= 0 && allTotal > _prevAllTotal
            ? (double)(allBusy - _prevAllBusy) / (allTotal - _prevAllTotal)
            : double.NaN;
        (_prevAllBusy, _prevAllTotal) = (allBusy, allTotal);
        return utilization;
    }

    /// <summary>The first fields of a /proc/stat cpu line: user nice system idle iowait irq softirq steal.</summary>
    private static void ReadFields(ReadOnlySpan<byte> fields, long[] into)
    {
        Array.Clear(into);
        for (int i = 0; i < into.Length && !fields.IsEmpty; i++)
        {
            fields = fields.TrimStart((byte)' ');
            int end = fields.IndexOf((byte)' ');
            into[i] = ParseLong(end < 0 ? fields : fields[..end]);
            fields = end < 0 ? default : fields[end..];
        }
    }

    /// <summary>user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already in user.</summary>
    private static (long Busy, long Total) BusyAndTotal(ReadOnlySpan<byte> fields)
    {
        long total = 0, idle = 0;
        for (int i = 0; i < 8 && !fields.IsEmpty; i++)
        {
            fields = fields.TrimStart((byte)' ');
            int end = fields.IndexOf((byte)' ');
            long value = ParseLong(end < 0 ? fields : fields[..end]);
            fields = end < 0 ? default : fields[end..];
            total += value;
            if (i is 3 or 4)
            {
                idle += value;
            }
        }

        return (total - idle, total);
    }

    /// <summary>
    /// utime + stime in seconds, the same plus the reaped children's (cutime + cstime: the agents'
    /// tool processes are this run's work, not a neighbour's), and RSS in bytes, from
    /// /proc/self/stat (fields 14 to 17 and 24).
    /// </summary>
    private (double CpuSeconds, double WithChildrenSeconds, double RssBytes) ReadProcessStat()
    {
        int n = _files.Read("/proc/self/stat", _smallBuffer);
        if (n <= 0)
        {
            return (double.NaN, double.NaN, double.NaN);
        }

        if (!ProcStat.TryParse(_smallBuffer.AsSpan(0, n), out ProcStat stat))
        {
            return (double.NaN, double.NaN, double.NaN);
        }

        double withChildren = (stat.OwnTicks + stat.CUTime + stat.CSTime) / _clockTicksPerSecond;
        return (stat.OwnTicks / _clockTicksPerSecond, withChildren, stat.RssPages * (double)_pageSize);
    }

    /// <summary>
    /// Mean clock of the cores in MHz: scaling_cur_freq (kHz) of up to 16 cores spread over the
    /// machine, else every "cpu MHz" line of /proc/cpuinfo; NaN when neither is readable (many VMs).
    /// </summary>
    private double ReadFrequencyMhz()
    {
        if (_frequencyFiles.Length > 0)
        {
            double sum = 0;
            int count = 0;
            foreach (string path in _frequencyFiles)
            {
                int n = _files.Read(path, _smallBuffer);
                if (n > 0)
                {
                    sum += ParseLong(_smallBuffer.AsSpan(0, n).Trim("\n "u8)) / 1000.0;
                    count++;
                }
            }

            return count > 0 ? sum / count : double.NaN;
        }

        int read;
        while ((read = _files.Read("/proc/cpuinfo", _statBuffer)) == _statBuffer.Length && _statBuffer.Length < 16 * 1024 * 1024)
        {
            _statBuffer = new byte[_statBuffer.Length * 2];
        }

        double total = 0;
        int cores = 0;
        ReadOnlySpan<byte> text = read > 0 ? _statBuffer.AsSpan(0, read) : default;
        while (!text.IsEmpty)
        {
            int eol = text.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = eol < 0 ? text : text[..eol];
            text = eol < 0 ? default : text[(eol + 1)..];
            if (line.StartsWith("cpu MHz"u8) && line.IndexOf((byte)':') is var colon and > 0
                && double.TryParse(System.Text.Encoding.ASCII.GetString(line[(colon + 1)..]).Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double mhz))
            {
                total += mhz;
                cores++;
            }
        }

        return cores > 0 ? total / cores : double.NaN;
    }

    /// <summary>The "total=" microseconds of the "some" or "full" line of a /proc/pressure file; NaN when not readable.</summary>
    private double ReadPressure(int file, bool full)
    {
        int n = _files.Read(PressureFiles[file], _smallBuffer);
        if (n <= 0)
        {
            return double.NaN;
        }

        ReadOnlySpan<byte> text = _smallBuffer.AsSpan(0, n);
        ReadOnlySpan<byte> prefix = full ? "full "u8 : "some "u8;
        while (!text.IsEmpty)
        {
            int eol = text.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = eol < 0 ? text : text[..eol];
            text = eol < 0 ? default : text[(eol + 1)..];
            int at = line.IndexOf("total="u8);
            if (line.StartsWith(prefix) && at >= 0)
            {
                return ParseLong(line[(at + 6)..]);
            }
        }

        return double.NaN;
    }

    /// <summary>scaling_cur_freq of up to 16 cores spread evenly over the machine; none where cpufreq is absent.</summary>
    private static string[] FindFrequencyFiles(ISystemFiles files)
    {
        var cores = files.ListDirectories("/sys/devices/system/cpu")
            .Where(d => d.Length > 3 && d.StartsWith("cpu", StringComparison.Ordinal) && d[3..].All(char.IsAsciiDigit))
            .Select(d => $"/sys/devices/system/cpu/{d}/cpufreq/scaling_cur_freq")
            .Where(files.Exists)
            .ToList();
        int step = Math.Max(1, (cores.Count + 15) / 16);
        return cores.Where((_, i) => i % step == 0).Take(16).ToArray();
    }

    /// <summary>Cumulative package energy in microjoules since the first reading, unwrapped; NaN without RAPL.</summary>
    private double ReadEnergy()
    {
        if (_zones.Length == 0)
        {
            return double.NaN;
        }

        foreach (RaplZone zone in _zones)
        {
            int n = _files.Read(zone.EnergyPath, _smallBuffer);
            if (n <= 0)
            {
                return double.NaN;
            }

            long raw = ParseLong(_smallBuffer.AsSpan(0, n).Trim("\n "u8));
            if (zone.Last >= 0)
            {
                long delta = raw - zone.Last;
                _energyUj += delta >= 0 ? delta : delta + zone.RangeUj; // the counter wrapped
            }

            zone.Last = raw;
        }

        _firstEnergyUj ??= _energyUj;
        return _energyUj;
    }

    private static (RaplZone[] Zones, string? Note) FindRaplZones(ISystemFiles files)
    {
        var zones = new List<RaplZone>();
        bool unreadable = false;
        Span<byte> buffer = stackalloc byte[64];
        foreach (string dir in files.ListDirectories(PowercapRoot))
        {
            if (!PackageZone().IsMatch(dir))
            {
                continue; // sub-zones (core, uncore, dram) are inside their package
            }

            string energy = $"{PowercapRoot}/{dir}/energy_uj";
            if (files.Read(energy, buffer) <= 0)
            {
                unreadable |= files.Exists(energy);
                continue;
            }

            int n = files.Read($"{PowercapRoot}/{dir}/max_energy_range_uj", buffer);
            long range = n > 0 ? ParseLong(buffer[..n].Trim("\n "u8)) : long.MaxValue;
            zones.Add(new RaplZone(energy, range));
        }

        if (zones.Count > 0)
        {
            return ([.. zones], null);
        }

        return ([], unreadable
            ? $"RAPL energy counters ({PowercapRoot}/intel-rapl:*/energy_uj) exist but are readable by root only (Linux 5.10 and later); run as root or grant read access"
            : $"no RAPL package zone under {PowercapRoot} (a VM, a container without /sys/class/powercap, or a CPU without RAPL)");
    }

    private static long ParseLong(ReadOnlySpan<byte> digits) => ProcStat.ParseLong(digits);

    private static double ClockTicksPerSecond()
    {
        try
        {
            long hz = SysConf(2); // _SC_CLK_TCK
            return hz > 0 ? hz : 100;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 100;
        }
    }

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);

    [GeneratedRegex(@"^intel-rapl:\d+$")]
    private static partial Regex PackageZone();

    private sealed class RaplZone(string energyPath, long rangeUj)
    {
        public string EnergyPath { get; } = energyPath;

        public long RangeUj { get; } = rangeUj;

        public long Last { get; set; } = -1;
    }

    private readonly record struct CpuReading(double Utilization, double ProcessCpuSeconds, double RssBytes, double PackageEnergyUj)
    {
        /// <summary>Cumulative /proc/stat ticks of all cores: user + nice + system, irq + softirq, steal, and all eight fields.</summary>
        public long UserSystemTicks { get; init; }

        public long InterruptTicks { get; init; }

        public long StealTicks { get; init; }

        public long TotalTicks { get; init; }

        /// <summary>This process's CPU seconds with its reaped children's.</summary>
        public double OwnWithChildrenS { get; init; }

        /// <summary>Mean core clock, NaN when not read at this reading (it is read every second).</summary>
        public double FrequencyMhz { get; init; }

        /// <summary>The server under test's CPU seconds since the first reading (its process tree); NaN when not measured.</summary>
        public double ServerCpuS { get; init; }

        /// <summary>The server's resident memory, all its processes; NaN when not measured.</summary>
        public double ServerRssBytes { get; init; }

        /// <summary>Cumulative /proc/pressure stall time in microseconds; NaN where not readable.</summary>
        public double PressureCpuSomeUs { get; init; }

        public double PressureMemorySomeUs { get; init; }

        public double PressureMemoryFullUs { get; init; }

        public double PressureIoSomeUs { get; init; }
    }
}

/// <summary>The CPU source's latest reading, for live metrics.</summary>
public readonly record struct CpuLive(long Samples, double? Utilization, double? ProcessCpuSeconds, long? RssBytes, double? PackageEnergySinceStartJ)
{
    /// <summary>Cores other processes kept busy since the previous reading.</summary>
    public double? OtherProcessesCores { get; init; }

    /// <summary>Share of CPU time stolen by the hypervisor since the previous reading.</summary>
    public double? StealShare { get; init; }

    /// <summary>The latest mean core clock, in MHz.</summary>
    public double? FrequencyMhz { get; init; }
}
