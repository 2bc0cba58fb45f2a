using System.Runtime.InteropServices;
using Harness.Telemetry.Cpu;

namespace Harness.Telemetry;

/// <summary>
/// The host CPU and this process: per-core busy time from /proc/stat, the process's CPU time and
/// resident memory from /proc/self/stat, and package energy from /sys/class/powercap (RAPL) where
/// readable. Also what disturbs a run (issue 18): the counters the disturbance analysis
/// (Trust/Disturbance/HostDisturbance) needs, over the window: the machine's user, system, interrupt
/// and steal ticks, this process with the children it reaped, the CPU clock (every second) and
/// /proc/pressure. With a server under test on this machine (<see cref="ServerProcessTree"/>), its
/// process tree is read at each reading (a scan of /proc for its children once a second). Each file
/// has its reader (Telemetry/Cpu); this class keeps the readings, the window summaries and the live
/// figures. Readers reuse their buffers: a reading costs a few file reads and no parsing garbage.
/// </summary>
public sealed partial class CpuSource : ITelemetrySource
{
    /// <summary>Least time between CPU clock readings: /proc/cpuinfo makes the kernel ask every core for its clock.</summary>
    public static readonly TimeSpan FrequencyInterval = TimeSpan.FromSeconds(1);

    private readonly long _frequency;
    private readonly double _clockTicksPerSecond;
    private readonly SampleBuffer<CpuReading> _buffer;
    private readonly Lock _gate = new();
    private readonly ProcStatReader _stat;
    private readonly SelfStatReader _self;
    private readonly PressureReader _pressure;
    private readonly CpuFreqReader _cpufreq;
    private readonly CpuInfoReader _cpuinfo;
    private readonly RaplReader _rapl;
    private long[]? _firstBusy;
    private long[]? _firstTotal;
    private long[] _lastBusy = [];
    private long[] _lastTotal = [];
    private int _cores;
    private long _prevAllBusy = -1, _prevAllTotal = -1;
    private double? _firstEnergyUj;
    private CpuReading _latest;
    private CpuReading _previous;
    private readonly long _frequencyIntervalTicks;
    private long _lastFrequencyRead = long.MinValue;
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
        files ??= SystemFiles.Instance;
        _frequency = clockFrequency;
        _clockTicksPerSecond = clockTicksPerSecond ?? ClockTicksPerSecond();
        long page = pageSize ?? Environment.SystemPageSize;
        _buffer = new SampleBuffer<CpuReading>(capacity);
        _server = server is null ? null : new ServerProcessTree(server, files, _clockTicksPerSecond, page, ownPid);
        _stat = new ProcStatReader(files);
        _self = new SelfStatReader(files, _clockTicksPerSecond, page);
        _pressure = new PressureReader(files);
        _rapl = new RaplReader(files);
        _frequencyIntervalTicks = (long)(FrequencyInterval.TotalSeconds * clockFrequency);
        _cpufreq = new CpuFreqReader(files);
        _cpuinfo = new CpuInfoReader(files);
        if (!_stat.IsReadable())
        {
            UnavailableReason = "/proc/stat is not readable (not Linux?)";
        }
    }

    public string Name => "cpu";

    public string? UnavailableReason { get; }

    /// <summary>Why package energy is not read; null when at least one RAPL package zone is readable.</summary>
    public string? PackageEnergyNote => _rapl.Note;

    public bool HasPackageEnergy => _rapl.HasZones;

    public void Sample(long timestamp, bool windowEdge = false)
    {
        lock (_gate)
        {
            double utilization = ReadProcStat();
            CpuTicks machine = _stat.Machine;
            (double cpuSeconds, double ownWithChildren, double rss) = _self.Read();
            double energy = _rapl.ReadUj();
            if (!double.IsNaN(energy))
            {
                _firstEnergyUj ??= energy;
            }

            double frequency = double.NaN;
            bool slow = windowEdge || _lastFrequencyRead == long.MinValue || timestamp - _lastFrequencyRead >= _frequencyIntervalTicks;
            if (slow)
            {
                _lastFrequencyRead = timestamp;
                frequency = _cpufreq.Present ? _cpufreq.MeanMhz() : _cpuinfo.MeanMhz();
            }

            (double serverCpuS, double serverRss) = _server?.Read(rescan: slow) ?? (double.NaN, double.NaN);

            var reading = new CpuReading(utilization, cpuSeconds, rss, energy)
            {
                UserSystemTicks = machine.UserSystem,
                InterruptTicks = machine.Interrupt,
                StealTicks = machine.Steal,
                TotalTicks = machine.Total,
                OwnWithChildrenS = ownWithChildren,
                FrequencyMhz = frequency,
                PressureCpuSomeUs = _pressure.TotalUs(PressureReader.Cpu, full: false),
                PressureMemorySomeUs = _pressure.TotalUs(PressureReader.Memory, full: false),
                PressureMemoryFullUs = _pressure.TotalUs(PressureReader.Memory, full: true),
                PressureIoSomeUs = _pressure.TotalUs(PressureReader.Io, full: false),
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
            report.Disturbance.Host = HostCounters(window, t.ToArray(), v.ToArray());
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

    /// <summary>What the counters the disturbance analysis reads moved over the window, and the clock readings in it.</summary>
    private HostCounterDeltas HostCounters(TelemetryWindow w, long[] t, CpuReading[] v)
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

        var frequencies = new List<double>();
        for (int i = 0; i < t.Length; i++)
        {
            if (!double.IsNaN(v[i].FrequencyMhz) && t[i] >= w.Start - _frequencyIntervalTicks && t[i] <= w.End)
            {
                frequencies.Add(v[i].FrequencyMhz);
            }
        }

        return new HostCounterDeltas
        {
            LogicalCores = _cores,
            ClockTicksPerSecond = _clockTicksPerSecond,
            WindowSeconds = w.Seconds,
            TotalTicks = Delta(r => r.TotalTicks),
            UserSystemTicks = Delta(r => r.UserSystemTicks),
            InterruptTicks = Delta(r => r.InterruptTicks),
            StealTicks = Delta(r => r.StealTicks),
            OwnWithChildrenS = Delta(r => r.OwnWithChildrenS),
            ServerCpuS = Delta(r => r.ServerCpuS),
            PressureCpuSomeUs = Delta(r => r.PressureCpuSomeUs),
            PressureMemorySomeUs = Delta(r => r.PressureMemorySomeUs),
            PressureMemoryFullUs = Delta(r => r.PressureMemoryFullUs),
            PressureIoSomeUs = Delta(r => r.PressureIoSomeUs),
            FrequenciesMhz = frequencies,
        };
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
        _stat.Read();
        int cores = _stat.Cores;
        (long allBusy, long allTotal) = _stat.HasMachine ? (_stat.Machine.Busy, _stat.Machine.Total) : (-1, -1);
        if (_firstBusy is null)
        {
            _cores = cores;
            _firstBusy = _stat.CoreBusy.ToArray();
            _firstTotal = _stat.CoreTotal.ToArray();
            _lastBusy = new long[cores];
            _lastTotal = new long[cores];
        }

        int n = Math.Min(_cores, cores);
        _stat.CoreBusy[..n].CopyTo(_lastBusy);
        _stat.CoreTotal[..n].CopyTo(_lastTotal);
        double utilization = _prevAllTotal >= 0 && allTotal > _prevAllTotal
            ? (double)(allBusy - _prevAllBusy) / (allTotal - _prevAllTotal)
            : double.NaN;
        (_prevAllBusy, _prevAllTotal) = (allBusy, allTotal);
        return utilization;
    }

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
