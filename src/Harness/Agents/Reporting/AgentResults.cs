using Harness.Agents.Profiles;
using Harness.Agents.Scheduling;
using Harness.Decoding;
using Harness.Engine;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Results;

namespace Harness.Agents.Reporting;

/// <summary>
/// Turns an agent run into a normal result file (schema version 1, workload "agents"): a request is a
/// turn (an LLM step and its tool calls), latency is turn latency, TTFT and TPOT are the LLM steps',
/// throughput is tokens produced per second; the agent measures go to <c>metrics</c> (flat) and to the
/// <c>agents</c> section. Validity uses the standard rules: a failed tool call makes a failed turn.
/// </summary>
public static class AgentResults
{
    public const string Workload = "agents";

    public static ResultDocument Build(
        AgentRunOutcome run,
        AgentProfile profile,
        ILlmEndpoint llm,
        AgentRunTiming timing,
        HardwareFingerprint? hardware,
        double maxErrorRate,
        long minTurns,
        double? pricePerGpuHour,
        IReadOnlyDictionary<string, object?>? extraConfig = null,
        string? backend = null)
    {
        AgentAccounting a = run.Accounting;
        AgentRunReport report = AgentRunReport.From(run, profile, llm.Name, pricePerGpuHour);
        var details = new Dictionary<string, object?>(profile.Describe());
        foreach ((string k, object? v) in llm.Details)
        {
            details[k] = v;
        }

        details["agents"] = run.Options.Agents;
        details["tool_workers"] = run.Options.Workers;
        details["llm_batching"] = report.Batching;
        details["llm_max_batch"] = run.MaxBatch;
        details["llm_batch_window_ms"] = run.Options.BatchWindow.TotalMilliseconds;
        details["llm_max_prefill_tokens"] = run.Options.MaxPrefillTokens;
        details["stagger_start"] = run.Options.StaggerStart;

        var settings = new RunSettings
        {
            Scenario = new AgentScenario(run.Options.Agents, run.Options.Workers),
            Batch = run.MaxBatch,
            Warmup = WarmupRule.ForDuration(timing.Warmup),
            Stop = new StopRules(timing.Duration, minTurns, timing.Duration),
            MaxErrorRate = maxErrorRate,
            Seed = run.Options.Seed,
        };
        var errors = new ErrorLog();
        errors.AddAll(a.Errors);
        if (run.Aborted is not null)
        {
            errors.Add($"run aborted: {run.Aborted}");
        }

        var engine = new EngineResult
        {
            Workload = new WorkloadDescription("tokens", 0, 0, details),
            Settings = settings,
            StartedUtc = run.StartedUtc,
            WindowStart = a.WindowStart,
            WindowEnd = a.WindowEnd,
            Frequency = a.Frequency,
            WallWindow = run.WallWindow,
            MonotonicWindow = run.MonotonicWindow,
            StopReason = run.Cancelled ? StopReason.Cancelled : StopReason.Completed,
            WarmupRequests = a.WarmupTurns,
            Latency = a.TurnLatency,
            TimeToFirstToken = a.TimeToFirstToken,
            TimePerOutputToken = a.TimePerOutputToken,
            InterTokenLatency = new SampleRecorder(a.Frequency, 1),
            // A run aborted by hung tools or a failed device counts one extra failed request, so it is never valid.
            OutcomeCounts = [a.TurnsOk, a.TurnsFailed + (run.Aborted is null ? 0 : 1), 0, 0],
            InputUnits = a.PrefillTokens,
            OutputUnits = a.OutputTokens,
            Errors = errors,
        };
        ResultDocument doc = ResultBuilder.Build(engine, Workload, backend ?? llm.Name, hardware, extraConfig);
        foreach ((MetricDefinition metric, double? value) in report.FlatMetrics())
        {
            doc.Metrics.Set(metric, value);
        }

        if (report.CostPerJobUsd is { } perJob)
        {
            doc.Metrics.Set(MetricCatalog.UsdPerJob, perJob);
        }

        doc.MetricDefinitions["latency_ms"] = "turn latency: LLM step submitted to its last tool call done, ok turns only; percentiles nearest-rank";
        doc.MetricDefinitions["ttft_ms"] = "LLM step submitted (queueing included) to its first token";
        doc.MetricDefinitions["tpot_ms"] = "(LLM step's last token - first token) / (decoded tokens - 1), per step";
        doc.MetricDefinitions["throughput_per_s"] = "tokens produced by the LLM device in the window / window";
        foreach ((string k, string v) in AgentRunReport.ToolDefinitions)
        {
            doc.MetricDefinitions[k] = v;
        }

        ResultBuilder.Define(doc);

        doc.Agents = report;
        return doc;
    }
}
