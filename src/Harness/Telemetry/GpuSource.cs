using Harness.Hardware;

namespace Harness.Telemetry;

/// <summary>
/// Every GPU NVML sees: power, the total-energy counter, utilization, memory, clocks, temperature and
/// clock-event reasons, one <see cref="INvml.ReadGpu"/> per device per reading; and, every second,
/// the other processes running on each GPU (a neighbour sharing the card disturbs the run).
/// </summary>
public sealed class GpuSource : ITelemetrySource
{
    /// <summary>Points per chart series in the result file.</summary>
    public const int SeriesPoints = 500;

    /// <summary>
    /// How often the costly energy counter is read between the window edges (see <see cref="INvml.ReadGpu"/>):
    /// the window's energy needs only the edges; the reads between feed the live energy metric.
    /// Every 5 s keeps eight GPUs under 1% of one core (3.8 ms per read measured on an H200).
    /// </summary>
    public static readonly TimeSpan DefaultEnergyInterval = TimeSpan.FromSeconds(5);

    private readonly INvml _nvml;
    private readonly bool _ownsNvml;
    private readonly Device[] _devices;
    private readonly Lock _gate = new();
    private readonly long _energyIntervalTicks;
    private long _lastEnergyRead = long.MinValue;
    private readonly long _processIntervalTicks;
    private long _lastProcessRead = long.MinValue;
    private readonly int _ownPid;

    /// <summary>Least time between listings of the processes on each GPU.</summary>
    public static readonly TimeSpan ProcessInterval = TimeSpan.FromSeconds(1);

    /// <param name="clockFrequency">Ticks per second of the timestamps passed to <see cref="Sample"/>.</param>
    /// <param name="ownsNvml">Dispose the NVML library with the source.</param>
    /// <param name="energyInterval">Least time between energy-counter reads, window edges apart; null for <see cref="DefaultEnergyInterval"/>.</param>
    /// <param name="ownPid">This process as NVML would list it; null for <see cref="Environment.ProcessId"/>.</param>
    public GpuSource(INvml nvml, long clockFrequency, bool ownsNvml = false, int capacity = SampleBuffer<GpuReading>.DefaultCapacity, TimeSpan? energyInterval = null, int? ownPid = null)
    {
        _nvml = nvml;
        _ownsNvml = ownsNvml;
        _ownPid = ownPid ?? Environment.ProcessId;
        _processIntervalTicks = (long)(ProcessInterval.TotalSeconds * clockFrequency);
        _energyIntervalTicks = (long)((energyInterval ?? DefaultEnergyInterval).TotalSeconds * clockFrequency);
        IReadOnlyList<GpuInfo> gpus = nvml.Available ? nvml.ListGpus() : [];
        _devices = gpus.Select(g => new Device(g, capacity, clockFrequency)).ToArray();
        UnavailableReason = !nvml.Available ? nvml.UnavailableReason ?? "NVML is not available"
            : gpus.Count == 0 ? "NVML reports no GPU" : null;
    }

    public string Name => "gpu";

    public string? UnavailableReason { get; }

    public IReadOnlyList<GpuInfo> Gpus => _devices.Select(d => d.Info).ToList();

    public void Sample(long timestamp, bool windowEdge = false)
    {
        bool withEnergy = windowEdge || _lastEnergyRead == long.MinValue || timestamp - _lastEnergyRead >= _energyIntervalTicks;
        if (withEnergy)
        {
            _lastEnergyRead = timestamp;
        }

        bool withProcesses = windowEdge || _lastProcessRead == long.MinValue || timestamp - _lastProcessRead >= _processIntervalTicks;
        if (withProcesses)
        {
            _lastProcessRead = timestamp;
        }

        foreach (Device d in _devices)
        {
            GpuReading r = _nvml.ReadGpu(d.Info.Index, withEnergy);
            IReadOnlyList<GpuProcess>? processes = withProcesses ? _nvml.ComputeProcesses(d.Info.Index) : null;
            lock (_gate)
            {
                d.Add(timestamp, r);
                if (processes is not null)
                {
                    d.AddProcesses(timestamp, processes, _ownPid);
                }
            }
        }
    }

    /// <summary>The latest reading of GPU slot <paramref name="slot"/> and its totals since the first reading, for live metrics.</summary>
    public GpuLive Live(int slot)
    {
        lock (_gate)
        {
            Device d = _devices[slot];
            return new GpuLive(d.Info.Index, d.Latest, d.Count, d.EnergySinceStartJ, d.ThrottleSeconds.ToArray()) { OtherProcesses = d.LatestOtherProcesses };
        }
    }

    public void Contribute(TelemetryWindow window, TelemetryReport report)
    {
        if (UnavailableReason is not null)
        {
            report.GpuNote = UnavailableReason;
            return;
        }

        lock (_gate)
        {
            report.Disturbance ??= new DisturbanceReport();
            foreach (Device d in _devices)
            {
                report.Gpus.Add(d.Summarize(window));
                report.Disturbance.Gpus.Add(d.Disturbance(window));
            }
        }
    }

    public void Dispose()
    {
        if (_ownsNvml && _nvml is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    private sealed class Device(GpuInfo info, int capacity, long frequency)
    {
        private readonly SampleBuffer<GpuReading> _buffer = new(capacity);
        private long _firstTimestamp;
        private ulong? _firstEnergyMj;
        private double _integratedJ;
        private long _previousTimestamp;

        public GpuInfo Info { get; } = info;

        private readonly List<(long T, int Others, int[] Pids, bool OwnSeen)> _processes = [];

        public GpuReading Latest { get; private set; }

        /// <summary>Other processes at the latest listing; null until listed (or where NVML cannot list them).</summary>
        public int? LatestOtherProcesses { get; private set; }

        public long Count { get; private set; }

        public double? EnergySinceStartJ { get; private set; }

        /// <summary>Seconds each throttling reason was active since the first reading (order of <see cref="ClockEventReasons.Throttling"/>).</summary>
        public double[] ThrottleSeconds { get; } = new double[ClockEventReasons.Throttling.Count];

        public void Add(long t, in GpuReading r)
        {
            if (Count == 0)
            {
                _firstTimestamp = t;
                _firstEnergyMj = r.EnergyMj;
            }
            else
            {
                double dt = (double)(t - _previousTimestamp) / frequency;
                if (r.PowerW is { } p && Latest.PowerW is { } q)
                {
                    _integratedJ += (p + q) / 2 * dt;
                }

                if (r.ClockEventReasons is { } reasons)
                {
                    for (int i = 0; i < ThrottleSeconds.Length; i++)
                    {
                        if ((reasons & ClockEventReasons.Throttling[i].Bit) != 0)
                        {
                            ThrottleSeconds[i] += dt;
                        }
                    }
                }
            }

            if (_firstEnergyMj is { } e0 && r.EnergyMj is { } e1 && e1 >= e0)
            {
                EnergySinceStartJ = (e1 - e0) / 1000.0;
            }
            else if (_firstEnergyMj is null && Count > 0 && r.PowerW is not null)
            {
                EnergySinceStartJ = _integratedJ; // no counter on this device: integrate power
            }

            _previousTimestamp = t;
            Latest = r;
            Count++;
            _buffer.Add(t, r);
        }

        public void AddProcesses(long t, IReadOnlyList<GpuProcess> processes, int ownPid)
        {
            int[] others = processes.Where(p => p.Pid != ownPid).Select(p => p.Pid).Distinct().ToArray();
            LatestOtherProcesses = others.Length;
            if (_processes.Count >= 100_000)
            {
                _processes.RemoveAt(0); // a day of listings at one a second; older ones are outside any window
            }

            _processes.Add((t, others.Length, others, processes.Any(p => p.Pid == ownPid)));
        }

        /// <summary>Neighbours seen by the listings inside the window (and the one just before it) and the throttling that is not the power cap.</summary>
        public GpuDisturbance Disturbance(TelemetryWindow w)
        {
            var listed = _processes.Where(p => p.T <= w.End).ToList();
            int lastBefore = listed.FindLastIndex(p => p.T <= w.Start);
            listed = listed.Skip(Math.Max(0, lastBefore)).ToList();
            ReadOnlySpan<long> t = _buffer.Timestamps;
            ReadOnlySpan<GpuReading> v = _buffer.Values;
            var hardware = new bool[t.Length];
            var powerCap = new bool[t.Length];
            bool anyReasons = false;
            for (int i = 0; i < t.Length; i++)
            {
                anyReasons |= v[i].ClockEventReasons is not null;
                hardware[i] = v[i].ClockEventReasons is { } bits && (bits & ClockEventReasons.HardwareSlowdownMask) != 0;
                powerCap[i] = v[i].ClockEventReasons is { } b2 && (b2 & ClockEventReasons.SwPowerCap) != 0;
            }

            return new GpuDisturbance
            {
                Index = Info.Index,
                OtherProcesses = listed.Count > 0 ? listed.Max(p => p.Others) : null,
                OtherPids = listed.SelectMany(p => p.Pids).Distinct().Take(16).ToList(),
                OwnProcessSeen = listed.Count > 0 && listed.Any(p => p.Pids.Length > 0 || p.OwnSeen) ? listed.Any(p => p.OwnSeen) : null,
                HardwareThrottleS = anyReasons ? Math.Round(w.ToSeconds(SampleMath.TimeWhere(t, hardware, w.Start, w.End)), 3) : null,
                PowerCapS = anyReasons ? Math.Round(w.ToSeconds(SampleMath.TimeWhere(t, powerCap, w.Start, w.End)), 3) : null,
            };
        }

        public GpuTelemetry Summarize(TelemetryWindow w)
        {
            ReadOnlySpan<long> t = _buffer.Timestamps;
            ReadOnlySpan<GpuReading> v = _buffer.Values;
            double[] power = Column(v, r => r.PowerW);
            double[] energyJ = Column(v, r => r.EnergyMj / 1000.0);
            double[] util = Column(v, r => r.Utilization);
            double[] memUtil = Column(v, r => r.MemoryUtilization);
            double[] memUsed = Column(v, r => r.MemoryUsedBytes);
            double[] sm = Column(v, r => r.SmClockMhz);
            double[] memClock = Column(v, r => r.MemoryClockMhz);
            double[] temp = Column(v, r => r.TemperatureC);

            double? energy = SampleMath.CounterDelta(t, energyJ, w.Start, w.End);
            string? method = energy is not null ? "counter" : null;
            if (energy is null && SampleMath.Integral(t, power, w.Start, w.End, w.Frequency) is { } integral)
            {
                energy = integral;
                method = "power_integration";
            }

            // A counter that went backwards (driver reload mid-run) is no measurement.
            if (energy < 0)
            {
                energy = null;
                method = null;
            }

            var throttled = new bool[t.Length];
            var reasons = new Dictionary<string, double>();
            bool anyReasons = false;
            for (int i = 0; i < t.Length; i++)
            {
                anyReasons |= v[i].ClockEventReasons is not null;
                throttled[i] = v[i].ClockEventReasons is { } bits && ClockEventReasons.IsThrottled(bits);
            }

            foreach ((ulong bit, string name) in ClockEventReasons.Throttling)
            {
                var active = new bool[t.Length];
                for (int i = 0; i < t.Length; i++)
                {
                    active[i] = v[i].ClockEventReasons is { } bits && (bits & bit) != 0;
                }

                long ticks = SampleMath.TimeWhere(t, active, w.Start, w.End);
                if (ticks > 0)
                {
                    reasons[name] = Math.Round(w.ToSeconds(ticks), 3);
                }
            }

            (double[] seconds, double?[][] cols) = SampleMath.Downsample(t, [power, util, memUtil, sm, temp, memUsed], w.Start, w.End, w.Frequency, SeriesPoints);
            return new GpuTelemetry
            {
                Index = Info.Index,
                Name = Info.Name,
                Uuid = Info.Uuid,
                Samples = Count,
                PowerAvgW = energy is { } j && w.Seconds > 0 ? j / w.Seconds : SampleMath.WeightedMean(t, power, w.Start, w.End),
                PowerPeakW = SampleMath.Max(t, power, w.Start, w.End),
                EnergyJ = energy,
                EnergyMethod = method,
                BusyFraction = SampleMath.WeightedMean(t, util, w.Start, w.End),
                MemoryUtilizationAvg = SampleMath.WeightedMean(t, memUtil, w.Start, w.End),
                MemoryUsedPeakBytes = SampleMath.Max(t, memUsed, w.Start, w.End) is { } m ? (long)m : null,
                SmClockAvgMhz = SampleMath.WeightedMean(t, sm, w.Start, w.End),
                MemoryClockAvgMhz = SampleMath.WeightedMean(t, memClock, w.Start, w.End),
                TemperatureAvgC = SampleMath.WeightedMean(t, temp, w.Start, w.End),
                TemperaturePeakC = SampleMath.Max(t, temp, w.Start, w.End),
                ThrottleS = anyReasons ? Math.Round(w.ToSeconds(SampleMath.TimeWhere(t, throttled, w.Start, w.End)), 3) : null,
                ThrottleReasonsS = anyReasons ? reasons : null,
                Series = seconds.Length == 0 ? null : new TelemetrySeries
                {
                    TS = seconds,
                    Columns = new()
                    {
                        ["power_w"] = cols[0],
                        ["utilization"] = cols[1],
                        ["memory_utilization"] = cols[2],
                        ["sm_clock_mhz"] = cols[3],
                        ["temperature_c"] = cols[4],
                        ["memory_used_bytes"] = cols[5],
                    },
                },
            };
        }

        private static double[] Column(ReadOnlySpan<GpuReading> values, Func<GpuReading, double?> pick)
        {
            var column = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                column[i] = pick(values[i]) ?? double.NaN;
            }

            return column;
        }
    }
}

/// <summary>A GPU's latest reading and running totals since the sampler started, for live metrics.</summary>
/// <param name="ThrottleSeconds">Seconds per reason, in the order of <see cref="ClockEventReasons.Throttling"/>.</param>
public readonly record struct GpuLive(int Index, GpuReading Latest, long Samples, double? EnergySinceStartJ, double[] ThrottleSeconds)
{
    /// <summary>Processes other than this one on the GPU at the latest listing; null until listed.</summary>
    public int? OtherProcesses { get; init; }
}
