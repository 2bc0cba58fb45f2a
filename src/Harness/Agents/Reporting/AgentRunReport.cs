using Harness.Agents.Profiles;
using Harness.Agents.Scheduling;
using Harness.Agents.Tools;
using Harness.Decoding;
using Harness.Measurement;
using Harness.Metrics;

namespace Harness.Agents.Reporting;

/// <summary>
/// The <c>agents</c> section of a result file: what the agent mix achieved in the measured window.
/// Definitions are in <see cref="ToolDefinitions"/> and are written into every result.
/// </summary>
public sealed class AgentRunReport
{
    /// <summary>Definitions of the agents section's per-tool figures (the flat metrics have theirs in the metric catalog).</summary>
    public static readonly IReadOnlyDictionary<string, string> ToolDefinitions = new Dictionary<string, string>
    {
        ["tool latency_ms"] = "call start to end on its worker, every outcome",
        ["tool queue_ms"] = "agent asked for the call to the call starting on a worker",
    };

    public string Profile { get; set; } = "";

    public int Agents { get; set; }

    public int Workers { get; set; }

    /// <summary>Logical cores of this machine.</summary>
    public int Cores { get; set; }

    public string Llm { get; set; } = "";

    public string Batching { get; set; } = "";

    public int MaxBatch { get; set; }

    public double WindowS { get; set; }

    public long JobsCompleted { get; set; }

    public long JobsFailed { get; set; }

    public long PartialJobsCompleted { get; set; }

    public double MeanTurnsPerJob { get; set; }

    public double JobsPerHour { get; set; }

    public DistributionSummary? JobCompletionTimeMs { get; set; }

    public long Turns { get; set; }

    public long TurnsFailed { get; set; }

    public double TurnsPerS { get; set; }

    /// <summary>Turns per agent in the window: a few or fewer means the window saw a transient, not steady state.</summary>
    public double TurnsPerAgent { get; set; }

    /// <summary>Set when the window is too short for steady state (under 3 turns per agent).</summary>
    public string? SteadyStateNote { get; set; }

    public double ToolShareOfTurnTime { get; set; }

    public double LlmBusyFraction { get; set; }

    public double LlmActiveFraction { get; set; }

    public double LlmMeanDecodeBatch { get; set; }

    public long LlmSteps { get; set; }

    public long PrefillTokens { get; set; }

    public long OutputTokens { get; set; }

    public double TokensPerS { get; set; }

    public double PrefillTokensPerS { get; set; }

    public DistributionSummary? LlmQueueMs { get; set; }

    public DistributionSummary? ToolQueueMs { get; set; }

    public DistributionSummary? ToolLatencyMs { get; set; }

    public double? CpuUtilization { get; set; }

    public double ToolWorkerBusyFraction { get; set; }

    public double? NonToolCpuFraction { get; set; }

    public double? SchedulerOverheadFraction { get; set; }

    /// <summary>CPU seconds of the LLM device's driver thread (for latency-model, its wake-ups).</summary>
    public double LlmDriverCpuS { get; set; }

    public double ToolCpuS { get; set; }

    public SortedDictionary<string, AgentToolReport> Tools { get; set; } = new(StringComparer.Ordinal);

    /// <summary>1-minute load average of the machine when the run ended: above the cores, other processes shared them.</summary>
    public double? LoadAverage1m { get; set; }

    /// <summary>Why the run ended early (hung tools, a failing LLM device); null when it ran its course.</summary>
    public string? Aborted { get; set; }

    public int AbandonedWorkers { get; set; }

    /// <summary>LLM steps whose request failed in the window (each ends its agent's job; the agent then waits).</summary>
    public long LlmStepsFailed { get; set; }

    /// <summary>Times agents waited after a failed LLM step, over the whole run.</summary>
    public long LlmFailureBackoffs { get; set; }

    /// <summary>The LLM's context and what the context policy did over the whole run; null where not recorded (simulated runs).</summary>
    public AgentContextReport? Context { get; set; }

    public static AgentRunReport From(AgentRunOutcome run, AgentProfile profile, string llm)
    {
        AgentAccounting a = run.Accounting;
        double f = a.Frequency;
        double window = Math.Max(1e-9, a.WindowTicks / f);
        double meanTurns = profile.MeanTurnsPerJob;
        double turnsPerS = a.TurnsOk / window;
        double jobsPerHour = meanTurns > 0 ? turnsPerS * 3600 / meanTurns : 0;
        double toolCpu = a.ToolThreadCpu.TotalSeconds + run.ChildCpu.TotalSeconds;
        bool measuredCpu = run.ProcessCpu > TimeSpan.Zero;
        var report = new AgentRunReport
        {
            Profile = profile.Name,
            Agents = run.Options.Agents,
            Workers = run.Options.Workers,
            Cores = run.Cores,
            Llm = llm,
            Batching = run.Batching == LlmBatching.Continuous ? "continuous" : "static",
            MaxBatch = run.MaxBatch,
            WindowS = window,
            JobsCompleted = a.JobsCompleted,
            JobsFailed = a.JobsFailed,
            PartialJobsCompleted = a.PartialJobsCompleted,
            MeanTurnsPerJob = Math.Round(meanTurns, 3),
            JobsPerHour = jobsPerHour,
            JobCompletionTimeMs = DistributionSummary.From(a.JobCompletion),
            Turns = a.TurnsOk,
            TurnsFailed = a.TurnsFailed,
            TurnsPerS = turnsPerS,
            TurnsPerAgent = (double)(a.TurnsOk + a.TurnsFailed) / run.Options.Agents,
            SteadyStateNote = (double)(a.TurnsOk + a.TurnsFailed) / run.Options.Agents < 3
                ? $"each agent finished {(double)(a.TurnsOk + a.TurnsFailed) / run.Options.Agents:0.#} turns in the window: the run may not have reached steady state; use a longer --warmup and --duration"
                : null,
            ToolShareOfTurnTime = a.LlmPhaseTicks + a.ToolPhaseTicks > 0 ? (double)a.ToolPhaseTicks / (a.LlmPhaseTicks + a.ToolPhaseTicks) : 0,
            LlmBusyFraction = a.DeviceSlotTicks / f / window,
            LlmActiveFraction = a.DeviceActiveTicks / f / window,
            LlmMeanDecodeBatch = a.DecodeIterations > 0 ? (double)a.DecodeSequences / a.DecodeIterations : 0,
            LlmSteps = a.Steps,
            PrefillTokens = a.PrefillTokens,
            OutputTokens = a.OutputTokens,
            TokensPerS = a.OutputTokens / window,
            PrefillTokensPerS = a.PrefillTokens / window,
            LlmQueueMs = DistributionSummary.From(a.LlmQueue),
            ToolQueueMs = DistributionSummary.From(SampleRecorder.Merge(a.Frequency, a.Tools.Values.Select(t => t.QueueDelay))),
            ToolLatencyMs = DistributionSummary.From(SampleRecorder.Merge(a.Frequency, a.Tools.Values.Select(t => t.ServiceTime))),
            CpuUtilization = measuredCpu ? run.ProcessCpu.TotalSeconds / Math.Max(1e-9, run.WallWindow.TotalSeconds) / run.Cores : null,
            ToolWorkerBusyFraction = a.WorkerBusyTicks / f / window / run.Options.Workers,
            NonToolCpuFraction = measuredCpu && toolCpu > 0 ? (run.ProcessCpu.TotalSeconds - toolCpu) / toolCpu : null,
            SchedulerOverheadFraction = measuredCpu && toolCpu > 0 ? Math.Max(0, run.ProcessCpu.TotalSeconds - toolCpu - run.LlmDriverCpu.TotalSeconds) / toolCpu : null,
            LlmDriverCpuS = run.LlmDriverCpu.TotalSeconds,
            ToolCpuS = toolCpu,
            Aborted = run.Aborted,
            AbandonedWorkers = run.AbandonedWorkers,
            LlmStepsFailed = a.StepsFailed,
            LlmFailureBackoffs = run.Backoffs,
            Context = AgentContextReport.From(run.Context, profile),
        };
        foreach ((string name, ToolStats s) in a.Tools)
        {
            report.Tools[name] = new AgentToolReport
            {
                Calls = s.Calls,
                Ok = s.Outcomes[(int)ToolOutcome.Ok],
                Errors = s.Outcomes[(int)ToolOutcome.Error],
                Timeouts = s.Outcomes[(int)ToolOutcome.Timeout],
                Hung = s.Outcomes[(int)ToolOutcome.Hung],
                Cancelled = s.Outcomes[(int)ToolOutcome.Cancelled],
                LatencyMs = DistributionSummary.From(s.ServiceTime),
                QueueMs = DistributionSummary.From(s.QueueDelay),
                CpuMsMean = s.Calls > 0 ? s.Cpu.TotalMilliseconds / s.Calls : 0,
                OutputTokensMean = s.Calls > 0 ? (double)s.OutputTokens / s.Calls : 0,
                Failures = s.Reasons.Counts.Select(kv => new ErrorCount(kv.Key, kv.Value)).OrderByDescending(e => e.Count).ToList(),
            };
        }

        return report;
    }

    /// <summary>The flat metrics that also go under <c>metrics</c> of the result file.</summary>
    public IEnumerable<(MetricDefinition Metric, double? Value)> FlatMetrics() =>
    [
        (MetricCatalog.JobsPerHour, JobsPerHour),
        (MetricCatalog.TurnsPerS, TurnsPerS),
        (MetricCatalog.LlmBusyFraction, LlmBusyFraction),
        (MetricCatalog.LlmActiveFraction, LlmActiveFraction),
        (MetricCatalog.LlmMeanDecodeBatch, LlmMeanDecodeBatch),
        (MetricCatalog.TokensPerS, TokensPerS),
        (MetricCatalog.CpuUtilization, CpuUtilization),
        (MetricCatalog.ToolShareOfTurnTime, ToolShareOfTurnTime),
        (MetricCatalog.ToolWorkerBusyFraction, ToolWorkerBusyFraction),
        (MetricCatalog.ToolQueueMsP50, ToolQueueMs?.P50),
        (MetricCatalog.ToolQueueMsP90, ToolQueueMs?.P90),
        (MetricCatalog.ToolLatencyMsP50, ToolLatencyMs?.P50),
        (MetricCatalog.JobCompletionTimeMsP50, JobCompletionTimeMs?.P50),
        (MetricCatalog.NonToolCpuFraction, NonToolCpuFraction),
        (MetricCatalog.SchedulerOverheadFraction, SchedulerOverheadFraction),
    ];
}

/// <summary>One tool's calls in the window.</summary>
public sealed class AgentToolReport
{
    public long Calls { get; set; }

    public long Ok { get; set; }

    public long Errors { get; set; }

    public long Timeouts { get; set; }

    public long Hung { get; set; }

    public long Cancelled { get; set; }

    public DistributionSummary? LatencyMs { get; set; }

    public DistributionSummary? QueueMs { get; set; }

    public double CpuMsMean { get; set; }

    public double OutputTokensMean { get; set; }

    public List<ErrorCount> Failures { get; set; } = [];
}

/// <summary>The LLM's context as the agents saw it (<c>agents.context</c>), and what the policy did to keep requests in it.</summary>
public sealed class AgentContextReport
{
    /// <summary>refuse or truncate-oldest (<c>--llm-set context=</c>).</summary>
    public string Policy { get; set; } = "";

    /// <summary>The LLM's context in tokens; null when neither the server nor an error said it.</summary>
    public int? ContextTokens { get; set; }

    public string? Source { get; set; }

    /// <summary>The largest request the profile can send (a bound from its distributions), for comparison.</summary>
    public long ProfileLargestRequestTokens { get; set; }

    public long TrimmedSteps { get; set; }

    public long DroppedMessages { get; set; }

    public long CutMessages { get; set; }

    public long CappedDecodes { get; set; }

    public long ContextErrors { get; set; }

    /// <summary>Server tokens per estimated token (4 characters a token, plus markers per message), the largest seen.</summary>
    public double TokenCalibration { get; set; }

    public static AgentContextReport? From(ContextWindow? w, AgentProfile profile) => w is null ? null : new AgentContextReport
    {
        Policy = ContextPolicies.Name(w.Policy),
        ContextTokens = w.Tokens,
        Source = w.Source,
        ProfileLargestRequestTokens = ConversationBound.Of(profile).LargestRequest,
        TrimmedSteps = w.TrimmedSteps,
        DroppedMessages = w.DroppedMessages,
        CutMessages = w.CutMessages,
        CappedDecodes = w.CappedDecodes,
        ContextErrors = w.ContextErrors,
        TokenCalibration = Math.Round(w.Calibration, 4),
    };
}
