using Harness.Agents.Profiles;
using Harness.Agents.Scheduling;
using Harness.Agents.Tools;
using Harness.Backends;
using Harness.Decoding;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Results;
using Harness.Running;

namespace Harness.Agents;

/// <summary>Everything one <c>harness run agents</c> needs, parsed and validated by the CLI.</summary>
public sealed record AgentRunRequest
{
    public required AgentProfile Profile { get; init; }

    public required AgentSchedulerOptions Options { get; init; }

    public required AgentRunTiming Timing { get; init; }

    public required LlmChoice Llm { get; init; }

    public AgentValidity Validity { get; init; } = new();

    /// <summary>Where the result goes, telemetry, live metrics and the price: as for every run.</summary>
    public RunOutput Output { get; init; } = new(null);
}

/// <summary>
/// One agent run from request to result file: prepare the tools (not timed) and the LLM's decoder,
/// then hand the run to the common runner (<see cref="BenchmarkRunner"/>), which measures it with
/// telemetry and live metrics, prices it and writes the result. The CLI only parses and calls this.
/// </summary>
public sealed class AgentBenchmark
{
    private readonly Func<ToolSet> _tools;
    private readonly BackendRegistry _backends;
    private readonly IClock _clock;
    private readonly BenchmarkRunner _runner;

    public AgentBenchmark(Func<ToolSet> tools, BackendRegistry backends, IClock? clock = null, INvml? nvml = null)
    {
        _tools = tools;
        _backends = backends;
        _clock = clock ?? StopwatchClock.Instance;
        _runner = new BenchmarkRunner(backends, _clock, nvml);
    }

    public RunOutcome Run(AgentRunRequest request, CancellationToken cancellationToken = default)
    {
        if (request.Output.OutputPath is { } path)
        {
            ResultWriter.EnsureWritable(path); // before the tools are prepared, which can take a while
        }

        AgentProfile profile = request.Profile;
        // The profile against the LLM's context first: a run that cannot fit is refused before anything is prepared or sent.
        (AgentSchedulerOptions options, EndpointConnection? connection) =
            ContextFit.Prepare(profile, request.Options, request.Llm, _backends, _clock);
        using ILlmEndpoint? server = connection?.Endpoint;
        using ToolSet tools = _tools();
        using var environment = new ToolEnvironment(profile, request.Options.Workers, request.Options.Seed);
        tools.Prepare(environment);
        using IStepDecoder? decoder = request.Llm.IsRemote ? null : request.Llm.CreateDecoder(_backends, options.MaxBatch, _clock);
        ILlmEndpoint Endpoint() => server is not null ? new SharedEndpoint(server) : new InProcessLlmEndpoint(decoder!, options.Endpoint, _clock, ownsDecoder: false);
        using var measurement = new AgentMeasurement(profile, tools, Endpoint, options, request.Timing, request.Validity, request.Llm, _clock);
        return _runner.Run(measurement, request.Output, cancellationToken: cancellationToken);
    }
}
