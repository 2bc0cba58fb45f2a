using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Reporting;
using Harness.Agents.Scheduling;
using Harness.Agents.Tools;
using Harness.Backends;
using Harness.Decoding;
using Harness.Engine;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Results;
using Harness.Running;
using Harness.Telemetry.Prometheus;

namespace Harness.Agents;

/// <summary>
/// An agent run as a measurement of the common runner (<see cref="BenchmarkRunner"/>): the agents
/// with their real tools and the LLM endpoint <paramref name="endpoint"/> gives (in-process over a
/// decoder, or a remote server), so that the result gets the telemetry, live metrics, price and file
/// every run gets. The tools are prepared and the decoder or connection made by the caller (a sweep
/// makes them once for all its points); the run disposes the endpoint it was given.
/// </summary>
public sealed class AgentMeasurement(
    AgentProfile profile,
    ToolSet tools,
    Func<ILlmEndpoint> endpoint,
    AgentSchedulerOptions options,
    AgentRunTiming timing,
    AgentValidity validity,
    LlmChoice llm,
    IClock clock) : IMeasurement
{
    /// <summary>What the run measured, once <see cref="Measure"/> returned (a sweep reads its tool costs).</summary>
    public AgentRunOutcome? Outcome { get; private set; }

    public RunLabels Labels { get; } = new(llm.Backend, AgentResults.Workload, AgentScenario.NameOf(options.Agents, options.Workers));

    /// <summary>The real LLM device here, whose energy is the run's; the latency model and a remote server have none here, so the host's CPU is measured.</summary>
    public BackendSpec? Device => llm.IsRemote ? null : llm.Spec;

    /// <summary>The server's URL for <c>--llm openai:URL</c>: its CPU is read beside the run's.</summary>
    public string? ServerUrl => llm.Spec?.Target;

    public IReadOnlyDictionary<string, object?> Config { get; } = new Dictionary<string, object?>
    {
        [ConfigKeys.ExecIsolation] = tools.All.OfType<ExecTool>().FirstOrDefault() is { } exec && profile.Tools.Any(t => t.Tool == exec.Name) ? exec.Isolation : null,
        [ConfigKeys.ProfileSources] = profile.Sources,
        [ConfigKeys.LlmThreads] = llm.IsLatencyModel || llm.IsRemote ? null : llm.Options.Threads,
        [ConfigKeys.LlmRemote] = llm.IsRemote ? "each step sends the agent's whole conversation; LLM busy = steps in flight / --llm-max-batch (the server's batch slots as given)" : null,
        // What the agents do about the LLM's context (--llm-set context=), and the context known before the run.
        [ConfigKeys.ContextPolicy] = llm.IsLatencyModel ? null : ContextPolicies.Name(options.ContextPolicy),
        [ConfigKeys.LlmContextTokens] = options.ContextTokens,
        [ConfigKeys.LlmContextSource] = options.ContextSource,
        // The profile's agents are per LLM device and the device stands for one GPU, modeled or not:
        // a per-GPU price is charged for one (config gpus is what the cost reads).
        [ConfigKeys.Gpus] = 1,
    };

    public string DefaultFileName(string stamp) =>
        $"agents_{profile.Name}_{BackendSpec.FileSafe(llm.Backend)}_a{options.Agents}w{options.Workers}_{stamp}.json";

    public MeasurementResult Measure(IRunObserver? observer, HarnessMetrics? metrics, EngineProgress? progress, CancellationToken cancellationToken)
    {
        using ILlmEndpoint llmEndpoint = endpoint();
        var runner = new AgentRunner(new JobGenerator(profile, options.Seed), tools, llmEndpoint, options, timing, clock)
        {
            Observer = observer,
            Live = metrics is null ? null : new AgentMetrics(metrics, clock.Frequency),
        };
        observer?.PhaseStarted(RunPhases.Preparing, clock.Timestamp);
        Outcome = runner.Run(cancellationToken);
        if (Outcome.Refusal is { } refusal)
        {
            throw HarnessException.BadInput(refusal);
        }

        AgentRunReport report = AgentRunReport.From(Outcome, profile, llmEndpoint.Name);
        report.LoadAverage1m = CpuTime.LoadAverage();
        return AgentResults.Run(Outcome, report, profile, llmEndpoint, timing, validity);
    }

    public void Complete(ResultDocument document)
    {
    }

    public void Dispose()
    {
    }
}

/// <summary>What makes an agent run valid beyond the common conditions: its failed turns and its turns in the window.</summary>
/// <param name="MaxErrorRate">Largest share of failed turns (a turn fails with any of its tool calls).</param>
/// <param name="MinTurns">Fewest ok turns in the window.</param>
public sealed record AgentValidity(double MaxErrorRate = 0, long MinTurns = 20);
