using Harness.Measurement;
using Harness.Metrics;
using Harness.Results;
using Prometheus;

namespace Harness.Telemetry.Prometheus;

/// <summary>The bounded labels every series of a run carries (as registry-wide static labels).</summary>
public sealed record RunLabels(string Backend, string Workload, string Scenario)
{
    public IDictionary<string, string> ToDictionary() => new Dictionary<string, string>
    {
        ["backend"] = Backend,
        ["workload"] = Workload,
        ["scenario"] = Scenario,
    };
}

/// <summary>
/// The run's Prometheus metrics in their own registry. Requests are counted through children bound
/// once to their label values, so <see cref="RequestEnded"/> costs a few interlocked adds and no
/// allocation; hardware gauges are read from the sampler's latest readings just before each scrape
/// or push, never per request. Names follow Prometheus conventions (base units, _total counters).
/// </summary>
public sealed class HarnessMetrics : IRunObserver
{
    /// <summary>100 µs to about 52 s, doubling: from a small CPU model to a long generation.</summary>
    public static readonly double[] LatencyBuckets = Histogram.ExponentialBuckets(0.0001, 2, 20);

    private static readonly string[] Percentiles = ["p50", "p90", "p95", "p99", "p999"];

    private readonly IClock _clock;
    private readonly TelemetrySampler? _sampler;
    private readonly Counter.Child[] _requests;
    private readonly ICounter _inputUnits;
    private readonly ICounter _outputUnits;
    private readonly IHistogram _latency;
    private readonly Gauge _phase;
    private readonly IGauge _measuredSeconds;
    private readonly GpuChildren[] _gpus = [];
    private readonly GpuSource? _gpuSource;
    private readonly CpuSource? _cpuSource;
    private readonly IGauge? _cpuUtilization;
    private readonly ICounter? _cpuPackageEnergy;
    private readonly ICounter? _processCpu;
    private readonly IGauge? _processRss;
    private readonly IGauge? _otherProcessesCores;
    private readonly IGauge? _stealRatio;
    private readonly IGauge? _cpuFrequency;
    private readonly Dictionary<string, Counter.Child> _samples = [];
    private readonly Gauge _resultValid;
    private readonly Dictionary<MetricDefinition, Gauge> _resultGauges = [];
    private readonly Gauge _resultCompletion;
    private readonly double _secondsPerTick;
    private long _measuringStart = -1;
    private long _measuringEnd = -1;
    private long _collections;

    public HarnessMetrics(RunLabels labels, IClock clock, TelemetrySampler? sampler = null)
    {
        _clock = clock;
        _sampler = sampler;
        _secondsPerTick = 1.0 / clock.Frequency;
        Registry = global::Prometheus.Metrics.NewCustomRegistry();
        Registry.SetStaticLabels(labels.ToDictionary());
        MetricFactory f = global::Prometheus.Metrics.WithCustomRegistry(Registry);
        Factory = f;

        Counter requests = f.CreateCounter("harness_requests_total", "Requests of the measured phase that ended, by outcome (ok, error, timeout, cancelled).", "outcome");
        _requests = Enum.GetValues<RequestOutcome>().Select(o => requests.WithLabels(o.ToString().ToLowerInvariant())).ToArray();
        _inputUnits = f.CreateCounter("harness_input_units_total", "Input work units (samples or prompt tokens) of ok measured requests.");
        _outputUnits = f.CreateCounter("harness_output_units_total", "Output work units (samples or generated tokens) of ok measured requests.");
        _latency = f.CreateHistogram("harness_request_latency_seconds", "Latency of ok measured requests, from scheduled send to end.",
            new HistogramConfiguration { Buckets = LatencyBuckets });
        _phase = f.CreateGauge("harness_run_phase", "1 for the phase the run is in (preparing, warm-up, measuring, done), 0 for the others.", "phase");
        foreach (string p in RunPhases.All)
        {
            _phase.WithLabels(p).Set(0);
        }

        _measuredSeconds = f.CreateGauge("harness_measured_duration_seconds", "Time since the measured phase began (frozen when it ends).",
            new GaugeConfiguration { SuppressInitialValue = true });

        var hidden = new GaugeConfiguration { SuppressInitialValue = true };
        var hiddenCounter = new CounterConfiguration { SuppressInitialValue = true };
        _gpuSource = sampler?.Sources.OfType<GpuSource>().FirstOrDefault(s => s.UnavailableReason is null);
        _cpuSource = sampler?.Sources.OfType<CpuSource>().FirstOrDefault(s => s.UnavailableReason is null);
        if (_gpuSource is not null)
        {
            var power = f.CreateGauge("harness_gpu_power_watts", "GPU board power draw (NVML).", "device");
            var energy = f.CreateCounter("harness_gpu_energy_joules_total", "GPU energy since the sampler started (NVML total-energy counter delta).", "device");
            var util = f.CreateGauge("harness_gpu_utilization_ratio", "Share of the last NVML sample period in which a kernel ran.", "device");
            var memUtil = f.CreateGauge("harness_gpu_memory_utilization_ratio", "Share of the last NVML sample period in which device memory was read or written.", "device");
            var memUsed = f.CreateGauge("harness_gpu_memory_used_bytes", "GPU memory in use.", "device");
            var sm = f.CreateGauge("harness_gpu_sm_clock_hertz", "SM clock.", "device");
            var memClock = f.CreateGauge("harness_gpu_memory_clock_hertz", "Memory clock.", "device");
            var temp = f.CreateGauge("harness_gpu_temperature_celsius", "GPU core temperature.", "device");
            var throttle = f.CreateCounter("harness_gpu_throttle_seconds_total", "Time a clock-event (throttle) reason was active since the sampler started.", "device", "reason");
            var neighbours = f.CreateGauge("harness_disturbance_gpu_other_processes", "Processes other than the harness on the GPU at the latest NVML listing: a neighbour sharing the card.",
                new GaugeConfiguration { SuppressInitialValue = true, LabelNames = ["device"] });
            _gpus = _gpuSource.Gpus.Select((g, slot) =>
            {
                string d = $"gpu{g.Index}";
                return new GpuChildren(
                    slot,
                    power.WithLabels(d),
                    energy.WithLabels(d),
                    util.WithLabels(d),
                    memUtil.WithLabels(d),
                    memUsed.WithLabels(d),
                    sm.WithLabels(d),
                    memClock.WithLabels(d),
                    temp.WithLabels(d),
                    ClockEventReasons.Throttling.Select(r => throttle.WithLabels(d, r.Name)).ToArray(),
                    neighbours.WithLabels(d));
            }).ToArray();
        }

        if (_cpuSource is not null)
        {
            _cpuUtilization = f.CreateGauge("harness_cpu_utilization_ratio", "Busy share of all host cores since the previous reading (/proc/stat).", hidden);
            _processCpu = f.CreateCounter("harness_process_cpu_seconds_total", "User and system CPU time of the harness process.", hiddenCounter);
            _processRss = f.CreateGauge("harness_process_resident_memory_bytes", "Resident memory of the harness process.", hidden);
            _otherProcessesCores = f.CreateGauge("harness_disturbance_other_processes_cores", "Cores other processes kept busy since the previous reading (machine user + system time minus the harness's).", hidden);
            _stealRatio = f.CreateGauge("harness_disturbance_steal_ratio", "Share of CPU time the hypervisor stole since the previous reading (/proc/stat steal).", hidden);
            _cpuFrequency = f.CreateGauge("harness_cpu_frequency_hertz", "Mean core clock at the latest reading (scaling_cur_freq or /proc/cpuinfo; read every second).", hidden);
            if (_cpuSource.HasPackageEnergy)
            {
                _cpuPackageEnergy = f.CreateCounter("harness_cpu_package_energy_joules_total", "CPU package energy (RAPL, all packages) since the sampler started.", hiddenCounter);
            }
        }

        if (sampler is not null)
        {
            Counter samples = f.CreateCounter("harness_telemetry_samples_total", "Readings taken per telemetry source.", "source");
            foreach (ITelemetrySource s in sampler.Sources.Where(s => s.UnavailableReason is null))
            {
                _samples[s.Name] = samples.WithLabels(s.Name);
            }
        }

        _resultValid = f.CreateGauge("harness_result_valid", "1 when the finished run met every validity condition, 0 when not.", hidden);
        // The finished run's figures, one gauge per catalog metric that names a Prometheus gauge;
        // a gauge appears once the run sets it (SuppressInitialValue), so absent metrics stay absent.
        foreach (MetricDefinition m in MetricCatalog.All.Where(m => m.Prometheus is not null))
        {
            string help = $"{char.ToUpperInvariant(m.Definition[0])}{m.DefinitionFor("units")[1..]} (finished run).";
            _resultGauges[m] = m.IsDistribution
                ? f.CreateGauge(m.Prometheus!, help + " By percentile, nearest-rank.", new GaugeConfiguration { SuppressInitialValue = true, LabelNames = ["percentile"] })
                : f.CreateGauge(m.Prometheus!, help, hidden);
        }

        _resultCompletion = f.CreateGauge("harness_result_completion_timestamp_seconds", "Unix time at which the result was written.", hidden);

        Registry.AddBeforeCollectCallback(Refresh);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Collections (scrapes and pushes) so far: lets a caller wait until the final values were read.</summary>
    public long Collections => Interlocked.Read(ref _collections);

    public void PhaseStarted(string phase, long timestamp)
    {
        foreach (string p in RunPhases.All)
        {
            _phase.WithLabels(p).Set(p == phase ? 1 : 0);
        }

        if (phase == RunPhases.Measuring)
        {
            Interlocked.Exchange(ref _measuringStart, timestamp);
        }
        else if (phase == RunPhases.Done && Interlocked.Read(ref _measuringStart) >= 0)
        {
            Interlocked.Exchange(ref _measuringEnd, timestamp);
        }
    }

    public void RequestEnded(RequestOutcome outcome, long latencyTicks, int inputUnits, int outputUnits)
    {
        _requests[(int)outcome].Inc();
        if (outcome != RequestOutcome.Ok)
        {
            return;
        }

        _inputUnits.Inc(inputUnits);
        _outputUnits.Inc(outputUnits);
        _latency.Observe(latencyTicks * _secondsPerTick);
    }

    /// <summary>Work units produced outside a request's own end (an agent run's tokens, counted per device iteration).</summary>
    public void UnitsProduced(int inputUnits, int outputUnits)
    {
        _inputUnits.Inc(inputUnits);
        _outputUnits.Inc(outputUnits);
    }

    /// <summary>Registers further series on this run's registry (e.g. <c>Agents.AgentMetrics</c>).</summary>
    internal MetricFactory Factory { get; }

    /// <summary>Publishes the finished run's figures, for the last scrape and the push.</summary>
    public void SetResult(ResultDocument doc)
    {
        ResultMetrics m = doc.Metrics;
        _resultValid.Set(doc.Valid ? 1 : 0);
        foreach ((MetricDefinition metric, Gauge gauge) in _resultGauges)
        {
            if (metric.IsDistribution)
            {
                if (m.Distribution(metric) is { } d)
                {
                    foreach (string p in Percentiles)
                    {
                        gauge.WithLabels(p).Set(d.Get(p) * metric.PrometheusScale);
                    }
                }
            }
            else if (m.Value(metric) is { } v)
            {
                gauge.Set(v * metric.PrometheusScale);
            }
        }

        _resultCompletion.SetToTimeUtc(DateTimeOffset.UtcNow);
    }

    /// <summary>Copies the sampler's latest readings into the gauges; runs before every collection.</summary>
    private void Refresh()
    {
        Interlocked.Increment(ref _collections);
        long start = Interlocked.Read(ref _measuringStart);
        if (start >= 0)
        {
            long end = Interlocked.Read(ref _measuringEnd);
            _measuredSeconds.Set(((end >= 0 ? end : _clock.Timestamp) - start) * _secondsPerTick);
        }

        if (_sampler is null)
        {
            return;
        }

        foreach (ITelemetrySource s in _sampler.Sources)
        {
            if (_samples.TryGetValue(s.Name, out Counter.Child? c))
            {
                c.IncTo(s switch
                {
                    GpuSource g when g.Gpus.Count > 0 => g.Live(0).Samples,
                    CpuSource cpu => cpu.Live().Samples,
                    _ => 0,
                });
            }
        }

        foreach (GpuChildren g in _gpus)
        {
            GpuLive live = _gpuSource!.Live(g.Slot);
            if (live.Samples == 0)
            {
                continue;
            }

            Set(g.Power, live.Latest.PowerW);
            Set(g.Utilization, live.Latest.Utilization);
            Set(g.MemoryUtilization, live.Latest.MemoryUtilization);
            Set(g.MemoryUsed, live.Latest.MemoryUsedBytes);
            Set(g.SmClock, live.Latest.SmClockMhz * 1e6);
            Set(g.MemoryClock, live.Latest.MemoryClockMhz * 1e6);
            Set(g.Temperature, live.Latest.TemperatureC);
            Set(g.OtherProcesses, live.OtherProcesses);
            if (live.EnergySinceStartJ is { } joules)
            {
                g.Energy.IncTo(joules);
            }

            if (live.Latest.ClockEventReasons is not null)
            {
                for (int i = 0; i < g.Throttle.Length; i++)
                {
                    g.Throttle[i].IncTo(live.ThrottleSeconds[i]);
                }
            }
        }

        if (_cpuSource is not null)
        {
            CpuLive live = _cpuSource.Live();
            Set(_cpuUtilization!, live.Utilization);
            Set(_processRss!, live.RssBytes);
            Set(_otherProcessesCores!, live.OtherProcessesCores is { } other && double.IsFinite(other) ? other : null);
            Set(_stealRatio!, live.StealShare);
            Set(_cpuFrequency!, live.FrequencyMhz * 1e6);
            if (live.ProcessCpuSeconds is { } cpu)
            {
                _processCpu!.IncTo(cpu);
            }

            if (live.PackageEnergySinceStartJ is { } joules)
            {
                _cpuPackageEnergy?.IncTo(joules);
            }
        }
    }

    private static void Set(IGauge gauge, double? value)
    {
        if (value is { } v)
        {
            gauge.Set(v);
        }
    }

    private sealed record GpuChildren(
        int Slot,
        Gauge.Child Power,
        Counter.Child Energy,
        Gauge.Child Utilization,
        Gauge.Child MemoryUtilization,
        Gauge.Child MemoryUsed,
        Gauge.Child SmClock,
        Gauge.Child MemoryClock,
        Gauge.Child Temperature,
        Counter.Child[] Throttle,
        Gauge.Child OtherProcesses);
}
