using Harness.Agents.Profiles;
using Harness.Agents.Scheduling;
using Harness.Decoding;
using Harness.Engine;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Results;
using Harness.Validity;
using static System.FormattableString;

namespace Harness.Agents.Reporting;

/// <summary>
/// An agent run as a result (schema version 1, workload "agents"), in its own terms: its window, the tokens the LLM
/// device prefilled and produced (the units), turn latency and the LLM steps' TTFT and TPOT as catalog distributions,
/// the agent metrics of the catalog (turns, jobs, busy fractions...), its own validity conditions (turns, failed turns,
/// a run that completed) and the <c>agents</c> section. An agent run makes no requests of the engine's, so the result's
/// request counts stay 0 and <c>latency_ms</c> is absent; a failed tool call makes a failed turn.
/// </summary>
public static class AgentResults
{
    public const string Workload = "agents";

    /// <summary>What the agents' units count, beside the catalog's definitions of throughput and units.</summary>
    private const string UnitsDetail =
        "an agents run makes no requests: here the tokens the LLM device prefilled (input) and produced (output) in the window, every step";

    /// <summary>What the agents' TTFT and TPOT are of, beside the catalog's definitions.</summary>
    private const string StepDetail = "an agents run: per LLM step, its submission to the LLM (queueing included) as the send";

    /// <summary>The run's measurement: window, units, distributions, metrics, conditions and the agents section.</summary>
    public static MeasurementResult Run(
        AgentRunOutcome run, AgentRunReport report, AgentProfile profile, ILlmEndpoint llm, AgentRunTiming timing, AgentValidity validity)
    {
        AgentAccounting a = run.Accounting;
        var details = new Dictionary<string, object?>(profile.Describe());
        foreach ((string k, object? v) in llm.Details)
        {
            details[k] = v;
        }

        details[ConfigKeys.Agents] = run.Options.Agents;
        details[ConfigKeys.ToolWorkers] = run.Options.Workers;
        details[ConfigKeys.LlmBatching] = run.Batching == LlmBatching.Continuous ? "continuous" : "static";
        details[ConfigKeys.LlmMaxBatch] = run.MaxBatch;
        details[ConfigKeys.LlmBatchWindowMs] = run.Options.BatchWindow.TotalMilliseconds;
        details[ConfigKeys.LlmMaxPrefillTokens] = run.Options.MaxPrefillTokens;
        details[ConfigKeys.StaggerStart] = run.Options.StaggerStart;

        var settings = new RunSettings
        {
            Scenario = new AgentScenario(run.Options.Agents, run.Options.Workers),
            Batch = run.MaxBatch,
            Warmup = WarmupRule.ForDuration(timing.Warmup),
            Stop = new StopRules(timing.Duration, validity.MinTurns, timing.Duration),
            MaxErrorRate = validity.MaxErrorRate,
            Seed = run.Options.Seed,
        };
        DistributionSummary? turnLatency = DistributionSummary.From(a.TurnLatency);
        return new MeasurementResult
        {
            Workload = new WorkloadDescription("tokens", 0, 0, details),
            Settings = settings,
            MeasuredWindow = new(run.StartedUtc, a.WindowStart, a.WindowEnd, a.Frequency, run.WallWindow, run.MonotonicWindow, run.ClockUncertaintyTicks),
            StopReason = run.Cancelled ? StopReason.Cancelled : StopReason.Completed,
            InputUnits = a.PrefillTokens,
            OutputUnits = a.OutputTokens,
            UnitsDetail = UnitsDetail,
            Distributions =
            [
                new DerivedDistribution(MetricCatalog.TurnLatencyMs, turnLatency),
                new DerivedDistribution(MetricCatalog.TtftMs, DistributionSummary.From(a.TimeToFirstToken), StepDetail),
                new DerivedDistribution(MetricCatalog.TpotMs, DistributionSummary.From(a.TimePerOutputToken), StepDetail),
            ],
            Metrics =
            [
                new DerivedMetric(MetricCatalog.TurnsOk, a.TurnsOk),
                new DerivedMetric(MetricCatalog.TurnsFailed, a.TurnsFailed),
                new DerivedMetric(MetricCatalog.JobsCompleted, a.JobsCompleted),
                .. report.FlatMetrics().Select(m => new DerivedMetric(m.Metric, m.Value)),
            ],
            Definitions = AgentRunReport.ToolDefinitions,
            Conditions = Conditions(run, settings, validity, turnLatency?.Count ?? 0),
            Sections = [ResultSection.Of(report)],
            Errors = a.Errors,
        };
    }

    /// <summary>
    /// The agents' own conditions: enough ok turns, few enough failed turns, enough turns for the scenario's tail
    /// percentile of turn latency (the tail rule's bound, as for requests), and a run that was not aborted.
    /// </summary>
    private static IReadOnlyList<ValidityCondition> Conditions(AgentRunOutcome run, RunSettings settings, AgentValidity validity, long latencies)
    {
        AgentAccounting a = run.Accounting;
        long turns = a.TurnsOk + a.TurnsFailed;
        double rate = turns > 0 ? (double)a.TurnsFailed / turns : 0;
        var conditions = new List<ValidityCondition>
        {
            new(ConditionNames.MinTurns, a.TurnsOk >= validity.MinTurns, Invariant($"{a.TurnsOk} ok turns, {validity.MinTurns} required")),
            new(ConditionNames.TurnErrorRate, turns > 0 && rate <= validity.MaxErrorRate,
                Invariant($"{a.TurnsFailed} of {turns} turns failed ({rate:P2}); at most {validity.MaxErrorRate:P2} allowed")),
        };
        if (settings.EffectiveTailPercentile is { } tail)
        {
            string name = TailRule.PercentileName(tail);
            long need = TailRule.Needed(tail, 0);
            conditions.Add(new(ConditionNames.EnoughSamples(name), latencies >= need,
                Invariant($"{latencies} ok turns, {need} needed for turn latency {name} at 99% confidence")));
        }

        conditions.Add(run.Aborted is { } why
            ? new(ConditionNames.AgentsCompleted, false, $"the run was aborted: {why}")
            : new(ConditionNames.AgentsCompleted, true, "the agents ran until the window closed"));
        return conditions;
    }
}
