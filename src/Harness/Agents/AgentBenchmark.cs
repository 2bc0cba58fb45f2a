using System.Globalization;
using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Reporting;
using Harness.Agents.Scheduling;
using Harness.Agents.Tools;
using Harness.Backends;
using Harness.Decoding;
using Harness.Engine;
using Harness.Hardware;
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

    public double? PricePerGpuHour { get; init; }

    /// <summary>Largest share of failed turns (a turn fails with any of its tool calls) in a valid result.</summary>
    public double MaxErrorRate { get; init; }

    /// <summary>Fewest ok turns in the window for a valid result.</summary>
    public long MinTurns { get; init; } = 20;

    public string? OutputPath { get; init; }

    public string ResultsRoot { get; init; } = "results";

    public IReadOnlyDictionary<string, object?>? ExtraConfig { get; init; }
}

/// <summary>
/// One agent run from request to result file: prepare the tools (not timed), run the agents with real
/// tools and the chosen LLM (an in-process endpoint over a decoder from the backends), write the
/// result atomically. The CLI only parses and calls this.
/// </summary>
public sealed class AgentBenchmark
{
    private readonly Func<ToolSet> _tools;
    private readonly BackendRegistry _backends;
    private readonly IReadOnlyDictionary<string, string?> _packages;
    private readonly IClock _clock;
    private readonly INvml? _nvml;

    public AgentBenchmark(Func<ToolSet> tools, BackendRegistry backends, IClock? clock = null, INvml? nvml = null)
    {
        _tools = tools;
        _backends = backends;
        _packages = backends.PackageVersions;
        _clock = clock ?? StopwatchClock.Instance;
        _nvml = nvml;
    }

    public RunOutcome Run(AgentRunRequest request, CancellationToken cancellationToken = default)
    {
        HardwareFingerprint hardware = HardwareProbe.Probe(_packages, _nvml);
        string path = request.OutputPath ?? DefaultPath(request, hardware);
        BenchmarkRunner.EnsureWritable(path);

        AgentProfile profile = request.Profile;
        using ToolSet tools = _tools();
        using var environment = new ToolEnvironment(profile, request.Options.Workers, request.Options.Seed);
        tools.Prepare(environment);
        AgentSchedulerOptions options = request.Llm.IsRemote ? request.Options with { RemoteLlm = true } : request.Options;
        using IStepDecoder? decoder = request.Llm.IsRemote ? null : request.Llm.CreateDecoder(_backends, options.MaxBatch, _clock);
        using ILlmEndpoint llm = decoder is null
            ? request.Llm.Connect(_backends, _clock).Endpoint
            : new InProcessLlmEndpoint(decoder, options.Endpoint, _clock, ownsDecoder: false);
        var runner = new AgentRunner(new JobGenerator(profile, options.Seed), tools, llm, options, request.Timing, _clock);
        AgentRunOutcome outcome = runner.Run(cancellationToken);
        double? load = Measurement.CpuTime.LoadAverage();

        var config = new Dictionary<string, object?>(request.ExtraConfig ?? new Dictionary<string, object?>())
        {
            ["price_per_gpu_hour"] = request.PricePerGpuHour,
            ["exec_isolation"] = tools.All.OfType<ExecTool>().FirstOrDefault() is { } exec && profile.Tools.Any(t => t.Tool == exec.Name) ? exec.Isolation : null,
            ["profile_sources"] = profile.Sources,
        };
        if (request.Llm.IsRemote)
        {
            config["llm_remote"] = "each step sends the agent's whole conversation; LLM busy = steps in flight / --llm-max-batch (the server's batch slots as given)";
        }
        else if (!request.Llm.IsLatencyModel)
        {
            config["llm_threads"] = request.Llm.Options.Threads;
        }

        ResultDocument doc = AgentResults.Build(outcome, profile, llm, request.Timing, hardware, request.MaxErrorRate, request.MinTurns, request.PricePerGpuHour, config, request.Llm.Backend);
        doc.Agents!.LoadAverage1m = load;
        AtomicFile.WriteAllText(path, ResultJson.Serialize(doc));
        return new RunOutcome(doc, path, doc.Valid ? ExitCodes.Ok : ExitCodes.Invalid);
    }

    /// <summary>results/&lt;machine&gt;/agents_&lt;profile&gt;_&lt;llm&gt;_a&lt;N&gt;w&lt;W&gt;_&lt;utc&gt;.json</summary>
    public static string DefaultPath(AgentRunRequest r, HardwareFingerprint hardware)
    {
        string stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        string name = $"agents_{r.Profile.Name}_{BackendSpec.FileSafe(r.Llm.Backend)}_a{r.Options.Agents}w{r.Options.Workers}_{stamp}.json";
        return Path.Combine(r.ResultsRoot, HardwareProbe.MachineLabel(hardware), name);
    }
}
