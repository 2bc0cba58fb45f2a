using System.Reflection;
using Harness.Engine;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Telemetry;
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
        TimeSpan? telemetryAllowedGap = null)
    {
        var allRules = (rules ?? DefaultValidityRules.All).Append(new TelemetryAliveRule(telemetry, telemetryAllowedGap ?? TimeSpan.FromSeconds(1)));
        IReadOnlyList<ValidityCondition> validity = DefaultValidityRules.Evaluate(run, allRules);
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
        if (run.Settings.Slos.Count > 0)
        {
            metrics.Extra ??= [];
            metrics.Extra["slo_met_requests"] = run.SloMetRequests;
            metrics.Extra["goodput_per_s"] = window > 0 ? run.SloMetRequests / window : 0;
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
                StopReason.MaxDuration => "max_duration",
                StopReason.Overloaded => "overloaded",
                _ => "cancelled",
            },
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
            MetricDefinitions = MetricDefinitions(run.Workload.Unit),
        };
        if (run.Derived.Count > 0)
        {
            metrics.Extra ??= [];
            foreach (DerivedMetric m in run.Derived)
            {
                metrics.Extra[m.Name] = m.Value is { } v && double.IsFinite(v) ? v : null;
                doc.MetricDefinitions[m.Name] = m.Definition;
            }
        }

        return doc;
    }

    private static Dictionary<string, object?> BuildConfig(EngineResult run, IReadOnlyDictionary<string, object?>? extra)
    {
        RunSettings s = run.Settings;
        var config = new Dictionary<string, object?>
        {
            ["scenario"] = s.Scenario.Name,
            ["workers"] = s.Scenario.Workers,
            ["batch"] = s.Batch,
            ["warmup"] = s.Warmup.ToString(),
            ["min_duration_s"] = s.Stop.MinDuration.TotalSeconds,
            ["min_requests"] = s.Stop.MinRequests,
            ["max_duration_s"] = s.Stop.MaxDuration.TotalSeconds,
            ["request_timeout_s"] = s.RequestTimeout?.TotalSeconds,
            ["max_error_rate"] = s.MaxErrorRate,
            ["seed"] = s.Seed,
            ["tail_percentile"] = s.EffectiveTailPercentile,
            ["slo"] = s.Slos.Count == 0 ? null : s.Slos.Select(o => o.ToString()).ToList(),
            ["clock_frequency_hz"] = run.Frequency,
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

    private static Dictionary<string, string> MetricDefinitions(string unit) => new()
    {
        ["latency_ms"] = "end of request minus its scheduled send time, ok requests only; percentiles nearest-rank (value at rank ceil(p*n)); median_ci: 95% distribution-free order-statistic interval",
        ["throughput_per_s"] = $"output {unit} of ok requests / measured window (first request start to last request end), warm-up excluded",
        ["requests_per_s"] = "ok requests / measured window",
        ["ttft_ms"] = "first output token on the host minus scheduled send",
        ["tpot_ms"] = "(request end - first token) / (token steps - 1), per request",
        ["itl_ms"] = "gap between consecutive token steps on the host",
        ["goodput_per_s"] = "ok requests whose own latency (and TTFT, TPOT when given) met every SLO limit / measured window; present only when --slo is given",
        ["energy_j"] = "energy of the backend's device over the measured window: delta of NVML's total-energy counter (mJ) for a GPU, of RAPL's package counters for a CPU backend, each read at the window edges by interpolating between samples; trapezoidal integration of sampled power only where no counter exists (telemetry.energy.method says which)",
        ["avg_power_w"] = "energy_j / measured window",
        ["joules_per_unit"] = $"energy_j / output {unit} of ok requests",
        ["joules_per_token"] = "energy_j / output tokens of ok requests (token workloads only)",
        ["telemetry"] = "samples every telemetry.interval_ms on the run's clock; averages weigh each sample by the part of the window its interval covers; busy_fraction: mean of NVML utilization.gpu; throttle_s: window time with a clock-event reason other than idle or application clocks",
        ["tail_sufficiency"] = "MLPerf early stopping, tolerance 0, confidence 0.99: smallest n with P(Binomial(n, 1-p) <= 0) <= 0.01",
    };
}
