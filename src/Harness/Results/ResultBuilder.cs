using System.Reflection;
using Harness.Engine;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Results.Validity;
using Harness.Telemetry;
using Harness.Trust.Disturbance;
using Harness.Validity;

namespace Harness.Results;

/// <summary>Turns the engine's raw outcome into the result document, with its validity verdict.</summary>
public static class ResultBuilder
{
    /// <summary>Per-request samples kept in the file at most; beyond, every k-th (the stride).</summary>
    public const int MaxSamplesInFile = 20_000;

    public static string HarnessVersion { get; } =
        typeof(ResultBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The engine's outcome as a result (a measurement whose sections, if any, are added later).</summary>
    public static ResultDocument Build(
        EngineResult run,
        string workload,
        string backend,
        HardwareFingerprint? hardware,
        IReadOnlyDictionary<string, object?>? extraConfig = null,
        IEnumerable<IValidityRule>? rules = null,
        TelemetryReport? telemetry = null,
        TimeSpan? telemetryAllowedGap = null,
        DisturbanceLimits? disturbanceLimits = null) =>
        Build(
            MeasurementResult.FromEngine(run), workload, backend, hardware, extraConfig, rules, telemetry, telemetryAllowedGap,
            disturbanceLimits);

    /// <summary>
    /// A measurement as a result: the window's and the telemetry's conditions for every run; for a run with requests the
    /// request metrics and rules (<paramref name="rules"/>, default <see cref="DefaultValidityRules.All"/>); then the
    /// measurement's own metrics, distributions, conditions and sections.
    /// </summary>
    public static ResultDocument Build(
        MeasurementResult run,
        string workload,
        string backend,
        HardwareFingerprint? hardware,
        IReadOnlyDictionary<string, object?>? extraConfig = null,
        IEnumerable<IValidityRule>? rules = null,
        TelemetryReport? telemetry = null,
        TimeSpan? telemetryAllowedGap = null,
        DisturbanceLimits? disturbanceLimits = null)
    {
        // The quiet-host rule judges what the telemetry measured; every run built here carries it (engine runs, sweeps, fleet tasks, agents).
        double window = run.MeasuredWindow.Seconds;
        DisturbanceJudge.Apply(telemetry?.Disturbance, disturbanceLimits ?? DisturbanceLimits.Default, window);
        var alive = new TelemetryAliveRule(telemetry, telemetryAllowedGap ?? TimeSpan.FromSeconds(1));
        var quiet = new QuietHostRule(telemetry);
        IReadOnlyList<ValidityCondition> common = run.Requests is { } requests
            ? DefaultValidityRules.Evaluate(requests, (rules ?? DefaultValidityRules.All).Append(alive).Append(quiet))
            : [.. DefaultValidityRules.EvaluateWindow(run.MeasuredWindow, run.Settings, run.Cancelled), alive.Judge(), quiet.Judge()];
        IReadOnlyList<ValidityCondition> validity = [.. common, .. run.Conditions];
        string unit = run.Workload.Unit;
        var metrics = new ResultMetrics
        {
            DurationS = window,
            ThroughputUnit = unit,
            ThroughputPerS = window > 0 ? run.OutputUnits / window : 0,
            InputUnits = run.InputUnits,
            OutputUnits = run.OutputUnits,
            EnergyJ = telemetry?.Energy?.EnergyJ,
            AvgPowerW = telemetry?.Energy?.AvgPowerW,
            JoulesPerUnit = telemetry?.Energy?.JoulesPerUnit,
            JoulesPerToken = unit == "tokens" ? telemetry?.Energy?.JoulesPerUnit : null,
        };
        if (run.Requests is { } r)
        {
            RequestMetrics(metrics, r, window);
        }

        if (telemetry?.Server is { CpuS: { } serverCpu } server)
        {
            metrics.Set(MetricCatalog.ServerCpuCores, server.CpuCores);
            bool tokens = unit == "tokens" && run.OutputUnits > 0;
            metrics.Set(MetricCatalog.ServerCpuSPerToken, tokens ? serverCpu / run.OutputUnits : null);
            metrics.Set(MetricCatalog.ServerRssPeakBytes, server.RssPeakBytes);
        }

        // Tail sufficiency counts the main distribution: the requests' latency, else the measurement's first.
        long had = run.Requests?.Latency.Count ?? run.Distributions.FirstOrDefault()?.Summary?.Count ?? 0;
        var doc = new ResultDocument
        {
            HarnessVersion = HarnessVersion,
            Workload = workload,
            Backend = backend,
            Scenario = run.Settings.Scenario.Name,
            StartedUtc = run.MeasuredWindow.StartedUtc,
            Valid = validity.All(v => v.Passed),
            Cancelled = run.Cancelled,
            StopReason = run.StopReason switch
            {
                StopReason.Completed => "completed",
                StopReason.TailRule => "tail_rule",
                StopReason.MaxDuration => "max_duration",
                StopReason.Overloaded => "overloaded",
                _ => "cancelled",
            },
            StopDetail = string.IsNullOrEmpty(run.StopDetail) ? null : run.StopDetail,
            Validity = validity.ToList(),
            Config = BuildConfig(run, extraConfig),
            Hardware = hardware,
            Metrics = metrics,
            TailSufficiency = DistributionSummary.Tails
                .Select(t => (t.Name, Need: Statistics.EarlyStoppingMinimum(t.P)))
                .Select(t => new TailSufficiency(t.Name, t.Need, had, had >= t.Need))
                .ToList(),
            Errors = run.Errors.Counts.Select(kv => new ErrorCount(kv.Key, kv.Value))
                .Append(new ErrorCount("(further distinct errors not listed)", run.Errors.Dropped))
                .Where(e => e.Count > 0).OrderByDescending(e => e.Count).ToList(),
            Telemetry = telemetry,
            Samples = run.Requests is { } withSamples ? BuildSamples(withSamples.Latency) : null,
            MetricDefinitions = SectionDefinitions(),
        };
        foreach (DerivedMetric m in run.Metrics)
        {
            metrics.Set(MetricCatalog.Get(m.Name), m.Value);
            doc.MetricDefinitions[m.Name] = m.Definition;
        }

        foreach (DerivedDistribution d in run.Distributions)
        {
            if (d.Summary is null)
            {
                continue;
            }

            metrics.SetDistribution(d.Metric, d.Summary);
            doc.MetricDefinitions[d.Metric.Key] = d.Detail is null ? d.Metric.Definition : $"{d.Metric.Definition} ({d.Detail})";
        }

        if (run.UnitsDetail is { } units)
        {
            MetricDefinition[] unitMetrics = [MetricCatalog.ThroughputPerS, MetricCatalog.InputUnits, MetricCatalog.OutputUnits];
            foreach (MetricDefinition m in unitMetrics)
            {
                doc.MetricDefinitions[m.Key] = $"{m.DefinitionFor(unit)} ({units})";
            }
        }

        foreach ((string key, string definition) in run.Definitions)
        {
            doc.MetricDefinitions[key] = definition;
        }

        foreach (ResultSection section in run.Sections)
        {
            doc.Add(section);
        }

        Define(doc);
        return doc;
    }

    /// <summary>The counts, rates, latency distributions and goodput of a run with requests.</summary>
    private static void RequestMetrics(ResultMetrics metrics, EngineResult run, double window)
    {
        long ok = run.Count(RequestOutcome.Ok);
        metrics.RequestsOk = ok;
        metrics.RequestsError = run.Count(RequestOutcome.Error);
        metrics.RequestsTimeout = run.Count(RequestOutcome.Timeout);
        metrics.RequestsFailed = run.Count(RequestOutcome.Error) + run.Count(RequestOutcome.Timeout);
        metrics.RequestsCancelled = run.Count(RequestOutcome.Cancelled);
        metrics.WarmupRequests = run.WarmupRequests;
        metrics.RequestsPerS = window > 0 ? ok / window : 0;
        metrics.LatencyMs = DistributionSummary.From(run.Latency);
        metrics.TtftMs = DistributionSummary.From(run.TimeToFirstToken);
        metrics.TpotMs = DistributionSummary.From(run.TimePerOutputToken);
        metrics.ItlMs = DistributionSummary.From(run.InterTokenLatency);
        if (run.Settings.Slos.Count > 0)
        {
            metrics.Set(MetricCatalog.SloMetRequests, run.SloMetRequests);
            metrics.Set(MetricCatalog.GoodputPerS, window > 0 ? run.SloMetRequests / window : 0);
            long all = ok + metrics.RequestsFailed;
            metrics.Set(MetricCatalog.GoodputPercent, all > 0 ? 100.0 * run.SloMetRequests / all : null);
            if (run.Workload.Unit == "tokens")
            {
                metrics.Set(MetricCatalog.GoodputTokensPerS, window > 0 ? run.SloMetOutputUnits / window : 0);
            }
        }
    }

    private static Dictionary<string, object?> BuildConfig(MeasurementResult run, IReadOnlyDictionary<string, object?>? extra)
    {
        RunSettings s = run.Settings;
        var config = new Dictionary<string, object?>
        {
            [ConfigKeys.Scenario] = s.Scenario.Name,
            [ConfigKeys.Workers] = s.Scenario.Workers,
            [ConfigKeys.Batch] = s.Batch,
            [ConfigKeys.Warmup] = s.Warmup.ToString(),
            [ConfigKeys.MinDurationS] = s.Stop.MinDuration.TotalSeconds,
            [ConfigKeys.MinRequests] = s.Stop.MinRequests,
            [ConfigKeys.MaxDurationS] = s.Stop.MaxDuration.TotalSeconds,
            [ConfigKeys.UntilTail] = s.Stop.UntilTail,
            [ConfigKeys.RequestTimeoutS] = s.RequestTimeout?.TotalSeconds,
            [ConfigKeys.MaxErrorRate] = s.MaxErrorRate,
            [ConfigKeys.Seed] = s.Seed,
            [ConfigKeys.TailPercentile] = s.EffectiveTailPercentile,
            [ConfigKeys.Slo] = s.Slos.Count == 0 ? null : s.Slos.Select(o => o.ToString()).ToList(),
            [ConfigKeys.ClockFrequencyHz] = run.MeasuredWindow.Frequency,
        };
        foreach ((string k, object? v) in run.Workload.Details)
        {
            config[k] = v;
        }

        if (extra is not null)
        {
            foreach ((string k, object? v) in extra)
            {
                config[k] = v;
            }
        }

        return config;
    }

    private static ResultSamples? BuildSamples(SampleRecorder latency)
    {
        if (latency.RawCount == 0)
        {
            return null;
        }

        long[] raw = latency.ToArray();
        int stride = (int)Math.Max(1, (raw.Length + MaxSamplesInFile - 1) / MaxSamplesInFile);
        var ms = new double[(raw.Length + stride - 1) / stride];
        double scale = 1000.0 / latency.Frequency;
        for (int i = 0, j = 0; i < raw.Length; i += stride, j++)
        {
            ms[j] = Math.Round(raw[i] * scale, 6);
        }

        return new ResultSamples { LatencyMs = ms, Stride = stride };
    }

    /// <summary>
    /// Writes the catalog's formula of every metric the document carries that has none yet (derived
    /// metrics bring their own, with the peak or model they used). Call again after adding metrics.
    /// </summary>
    public static void Define(ResultDocument doc)
    {
        string unit = doc.Metrics.ThroughputUnit;
        foreach (MetricDefinition m in MetricCatalog.All)
        {
            // A key the file holds with a null value (not measured this time) is defined too.
            bool present = m.IsDistribution ? doc.Metrics.Distribution(m) is not null
                : doc.Metrics.Value(m) is not null || doc.Metrics.Extra?.ContainsKey(m.Key) == true;
            if (present && !Hidden.Contains(m.Key))
            {
                doc.MetricDefinitions.TryAdd(m.Key, m.DefinitionFor(unit));
            }
        }
    }

    /// <summary>Counts whose meaning the README states; their definitions would only repeat it.</summary>
    private static readonly HashSet<string> Hidden =
    [
        MetricCatalog.RequestsOk.Key, MetricCatalog.RequestsFailed.Key, MetricCatalog.RequestsError.Key, MetricCatalog.RequestsTimeout.Key,
        MetricCatalog.RequestsCancelled.Key, MetricCatalog.WarmupRequests.Key, MetricCatalog.DurationS.Key, MetricCatalog.InputUnits.Key,
        MetricCatalog.OutputUnits.Key, MetricCatalog.SloMetRequests.Key,
    ];

    /// <summary>Definitions of the result's sections that are not metrics.</summary>
    private static Dictionary<string, string> SectionDefinitions() => new()
    {
        ["telemetry"] = "samples every telemetry.interval_ms on the run's clock; averages weigh each sample by the part of the window its interval covers; busy_fraction: mean of NVML utilization.gpu; throttle_s: window time with a clock-event reason other than idle or application clocks",
        ["telemetry.disturbance"] = "other_processes_cores: (machine user + nice + system ticks - this process's and its reaped children's CPU time - the server under test's, telemetry.server) / all ticks x logical cores, over the window (/proc/stat, /proc/self/stat); steal_share: steal ticks / all ticks; pressure_*: /proc/pressure stall time / window; gpus[].other_processes: most processes other than this one in one NVML listing of running compute processes; hardware_throttle_s: window time with a thermal or hardware slowdown reason",
        ["telemetry.server"] = "the server under test on this machine: for a loopback URL the process holding the listening socket of"
            + " its port (/proc/net/tcp, tcp6 -> socket inode -> /proc/PID/fd), or --server-pid, with every descendant (by parent PID,"
            + " looked for every second); cpu_s: utime + stime of those processes in the window, accumulated per process;"
            + " rss_peak_bytes: highest sum of their RSS at one reading; note says why it was not measured (a remote URL)",
        ["tail_sufficiency"] = "MLPerf early stopping, tolerance 0, confidence 0.99: smallest n with P(Binomial(n, 1-p) <= 0) <= 0.01",
    };
}
