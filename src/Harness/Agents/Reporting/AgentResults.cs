using Harness.Agents.Profiles;
using Harness.Agents.Scheduling;
using Harness.Decoding;
using Harness.Engine;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Results;

namespace Harness.Agents.Reporting;

/// <summary>
/// An agent run as a normal result (schema version 1, workload "agents"): a request is a turn (an LLM
/// step and its tool calls), latency is turn latency, TTFT and TPOT are the LLM steps', throughput is
/// tokens produced per second. <see cref="Run"/> gives the common runner the engine-shaped outcome it
/// builds every result from (validity, telemetry, energy, cost); <see cref="Complete"/> adds the agent
/// measures to <c>metrics</c> (flat, from the catalog) and the <c>agents</c> section. A failed tool
/// call makes a failed turn.
/// </summary>
public static class AgentResults
{
    public const string Workload = "agents";

    /// <summary>The run's outcome in the engine's terms, with the agent mix's settings as its details.</summary>
    public static EngineResult Run(AgentRunOutcome run, AgentProfile profile, ILlmEndpoint llm, AgentRunTiming timing, double maxErrorRate, long minTurns)
    {
        AgentAccounting a = run.Accounting;
        var details = new Dictionary<string, object?>(profile.Describe());
        foreach ((string k, object? v) in llm.Details)
        {
            details[k] = v;
        }

        details["agents"] = run.Options.Agents;
        details["tool_workers"] = run.Options.Workers;
        details["llm_batching"] = run.Batching == LlmBatching.Continuous ? "continuous" : "static";
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

        return new EngineResult
        {
            Workload = new WorkloadDescription("tokens", 0, 0, details),
            Settings = settings,
            StartedUtc = run.StartedUtc,
            WindowStart = a.WindowStart,
            WindowEnd = a.WindowEnd,
            Frequency = a.Frequency,
            WallWindow = run.WallWindow,
            MonotonicWindow = run.MonotonicWindow,
            ClockUncertaintyTicks = run.ClockUncertaintyTicks,
            StopReason = run.Cancelled ? StopReason.Cancelled : StopReason.Completed,
            WarmupRequests = a.WarmupTurns,
            Latency = a.TurnLatency,
            TimeToFirstToken = a.TimeToFirstToken,
            TimePerOutputToken = a.TimePerOutputToken,
            InterTokenLatency = new SampleRecorder(a.Frequency, 1),
            // A run aborted by hung tools or a failed device counts one extra failed request, so it is never valid.
            Outcomes = new RequestCounts(Ok: a.TurnsOk, Error: a.TurnsFailed + (run.Aborted is null ? 0 : 1), Timeout: 0, Cancelled: 0),
            InputUnits = a.PrefillTokens,
            OutputUnits = a.OutputTokens,
            Errors = errors,
        };
    }

    /// <summary>Adds the agent measures: flat metrics (the catalog's), their definitions, the agents section.</summary>
    public static void Complete(ResultDocument doc, AgentRunReport report)
    {
        foreach ((MetricDefinition metric, double? value) in report.FlatMetrics())
        {
            doc.Metrics.Set(metric, value);
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
    }
}
