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

    public static ResultDocument Build(
        EngineResult run,
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
        DisturbanceJudge.Apply(telemetry?.Disturbance, disturbanceLimits ?? DisturbanceLimits.Default, run.WindowSeconds);
        var allRules = (rules ?? DefaultValidityRules.All)
            .Append(new TelemetryAliveRule(telemetry, telemetryAllowedGap ?? TimeSpan.FromSeconds(1)))
            .Append(new QuietHostRule(telemetry));
        IReadOnlyList<ValidityCondition> validity = [.. DefaultValidityRules.Evaluate(run, allRules), .. run.WorkloadConditions];
        long ok = run.Count(RequestOutcome.Ok);
        double window = run.WindowSeconds;
        var metrics = new ResultMetrics
        {
            RequestsOk = ok,
            RequestsError = run.Count(RequestOutcome.Error),
            RequestsTimeout = run.Count(RequestOutcome.Timeout),
            RequestsFailed = run.Count(RequestOutcome.Error) + run.Count(RequestOutcome.Timeout),
            RequestsCancelled = run.Count(RequestOutcome.Cancelled),
            WarmupRequests = run.WarmupRequests,
            DurationS = window,
            ThroughputUnit = run.Workload.Unit,
            ThroughputPerS = window > 0 ? run.OutputUnits / window : 0,
            RequestsPerS = window > 0 ? ok / window : 0,
            InputUnits = run.InputUnits,
            OutputUnits = run.OutputUnits,
            LatencyMs = DistributionSummary.From(run.Latency),
            TtftMs = DistributionSummary.From(run.TimeToFirstToken),
            TpotMs = DistributionSummary.From(run.TimePerOutputToken),
            ItlMs = DistributionSummary.From(run.InterTokenLatency),
            EnergyJ = telemetry?.Energy?.EnergyJ,
            AvgPowerW = telemetry?.Energy?.AvgPowerW,
            JoulesPerUnit = telemetry?.Energy?.JoulesPerUnit,
            JoulesPerToken = run.Workload.Unit == "tokens" ? telemetry?.Energy?.JoulesPerUnit : null,
        };
        if (telemetry?.Server is { CpuS: { } serverCpu } server)
        {
            metrics.Set(MetricCatalog.ServerCpuCores, server.CpuCores);
            bool tokens = run.Workload.Unit == "tokens" && run.OutputUnits > 0;
            metrics.Set(MetricCatalog.ServerCpuSPerToken, tokens ? serverCpu / run.OutputUnits : null);
            metrics.Set(MetricCatalog.ServerRssPeakBytes, server.RssPeakBytes);
        }

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

        var doc = new ResultDocument
        {
            HarnessVersion = HarnessVersion,
            Workload = workload,
            Backend = backend,
            Scenario = run.Settings.Scenario.Name,
            StartedUtc = run.StartedUtc,
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
                .Select(t => new TailSufficiency(t.Name, t.Need, run.Latency.Count, run.Latency.Count >= t.Need))
                .ToList(),
            Errors = run.Errors.Counts.Select(kv => new ErrorCount(kv.Key, kv.Value))
                .Append(new ErrorCount("(further distinct errors not listed)", run.Errors.Dropped))
                .Where(e => e.Count > 0).OrderByDescending(e => e.Count).ToList(),
            Telemetry = telemetry,
            Samples = BuildSamples(run.Latency),
            MetricDefinitions = SectionDefinitions(),
            Serving = run.Serving,
        };
        foreach (DerivedMetric m in run.Derived)
        {
            metrics.Set(MetricCatalog.Get(m.Name), m.Value);
            doc.MetricDefinitions[m.Name] = m.Definition;
        }

        foreach (DerivedDistribution d in run.DerivedDistributions)
        {
            if (d.Summary is null)
            {
                continue;
            }

            metrics.Extra ??= [];
            metrics.Extra[d.Metric.Key] = d.Summary;
            doc.MetricDefinitions[d.Metric.Key] = d.Detail is null ? d.Metric.Definition : $"{d.Metric.Definition} ({d.Detail})";
        }

        Define(doc);
        return doc;
    }

    private static Dictionary<string, object?> BuildConfig(EngineResult run, IReadOnlyDictionary<string, object?>? extra)
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
            [ConfigKeys.ClockFrequencyHz] = run.Frequency,
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
