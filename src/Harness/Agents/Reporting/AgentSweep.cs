using System.Globalization;
using System.Text.Json;
using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Scheduling;
using Harness.Agents.Tools;
using Harness.Backends;
using Harness.Decoding;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Results;
using Harness.Running;

namespace Harness.Agents.Reporting;

/// <summary>Another card's LLM speed, for a projection: a name and its latency-model numbers.</summary>
public sealed record ProjectionCard(string Name, LatencyModel Model);

/// <summary>Everything one <c>harness agents sweep</c> needs, parsed and validated.</summary>
public sealed record AgentSweepRequest
{
    public required AgentProfile Profile { get; init; }

    /// <summary>Agents, batching and seed; <see cref="AgentSchedulerOptions.Workers"/> is replaced by each point's.</summary>
    public required AgentSchedulerOptions Options { get; init; }

    public required IReadOnlyList<int> Workers { get; init; }

    public required AgentRunTiming Timing { get; init; }

    public required LlmChoice Llm { get; init; }

    public IReadOnlyList<ProjectionCard> Cards { get; init; } = [];

    public AgentValidity Validity { get; init; } = new();

    /// <summary>
    /// As for every run; <see cref="RunOutput.OutputPath"/> names the sweep's folder: one result per point
    /// (w1.json, w2.json...) and the sweep document (<see cref="ResultReader.AgentSweepFileName"/>).
    /// </summary>
    public RunOutput Output { get; init; } = new(null);

    /// <summary>Simulated warm-up and window of each projected point (virtual time: costs no wall time).</summary>
    public AgentRunTiming SimulationTiming { get; init; } = new(TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(600));
}

/// <summary>
/// What a sweep produced: its document, where the document went, and each point's run. A file that
/// could not be written where it was asked for was rescued to a temporary folder (<see cref="ResultWriter"/>).
/// </summary>
public sealed record AgentSweepOutcome(AgentSweepDocument Document, WrittenResult Written, IReadOnlyList<RunOutcome> Points)
{
    /// <summary>Why each rescued file is not where it was asked for, and where it went: the points', then the document's.</summary>
    public IEnumerable<string> Rescues => Points.Select(p => p.Rescue).Append(Written.RescueMessage).OfType<string>();

    /// <summary>A sweep with a rescued file exits 1, as a run does.</summary>
    public bool Rescued => Rescues.Any();
}

/// <summary>
/// Runs the agent mix with real tools at each worker count, then states the cores per GPU that keep
/// the LLM device 90% busy: measured when a point reaches it, else projected by simulation from the
/// tool costs measured here (and likewise for other cards' latency models). Each point is a run of the
/// common runner (telemetry, live metrics, price, its own result file); the sweep document is
/// rewritten atomically after every point, so an interrupted sweep keeps what it measured.
/// </summary>
public sealed class AgentSweep
{
    private readonly Func<ToolSet> _tools;
    private readonly BackendRegistry _backends;
    private readonly IClock _clock;
    private readonly INvml? _nvml;
    private readonly BenchmarkRunner _runner;

    public AgentSweep(Func<ToolSet> tools, BackendRegistry backends, IClock? clock = null, INvml? nvml = null)
    {
        _tools = tools;
        _backends = backends;
        _clock = clock ?? StopwatchClock.Instance;
        _nvml = nvml;
        _runner = new BenchmarkRunner(backends, _clock, nvml);
    }

    /// <summary>Runs the sweep; each file is where the outcome says (rescued to a temporary folder when its own could not be written).</summary>
    public AgentSweepOutcome Run(AgentSweepRequest request, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        if (request.Workers.Count == 0 || request.Workers.Any(w => w < 1))
        {
            throw HarnessException.BadInput("--workers needs one or more worker counts of at least 1, e.g. 1,2,4.");
        }

        AgentProfile profile = request.Profile;
        HardwareFingerprint hardware = HardwareProbe.Probe(_backends.PackageVersions, _nvml);
        string folder = request.Output.OutputPath ?? DefaultFolder(request, hardware);
        string path = Path.Combine(folder, ResultReader.AgentSweepFileName);
        ResultWriter.EnsureWritable(path);
        int cores = Environment.ProcessorCount;
        var jobs = new JobGenerator(profile, request.Options.Seed);
        var workers = request.Workers.Distinct().Order().ToList();

        // The profile against the LLM's context first: a sweep that cannot fit is refused before anything is prepared or sent.
        (AgentSchedulerOptions baseOptions, EndpointConnection? connection) =
            ContextFit.Prepare(profile, request.Options, request.Llm, _backends, _clock);
        using ILlmEndpoint? server = connection?.Endpoint;
        using ToolSet tools = _tools();
        using var environment = new ToolEnvironment(profile, workers[^1], request.Options.Seed);
        tools.Prepare(environment);
        AgentSweepDocument doc;
        var runs = new List<RunOutcome>();
        var samples = new Dictionary<string, List<ToolSample>>(StringComparer.Ordinal);
        long frequency = _clock.Frequency;
        // One decoder for the whole sweep (a real one loads its model once); each point gets a fresh endpoint over it.
        // A remote server is one connection for every point.
        bool remote = request.Llm.IsRemote;
        using IStepDecoder? decoder = remote ? null : request.Llm.CreateDecoder(_backends, request.Options.MaxBatch, _clock);
        ILlmEndpoint PointEndpoint(AgentSchedulerOptions o) => server is not null ? new SharedEndpoint(server) : new InProcessLlmEndpoint(decoder!, o.Endpoint, _clock, ownsDecoder: false);
        var service = new List<(double InFlight, SampleRecorder Ttft, SampleRecorder Tpot)>();
        using (ILlmEndpoint probe = PointEndpoint(baseOptions))
        {
            doc = new AgentSweepDocument
            {
                HarnessVersion = ResultBuilder.HarnessVersion,
                StartedUtc = DateTime.UtcNow,
                Profile = profile.Name,
                ProfilePath = profile.Path,
                Agents = request.Options.Agents,
                Llm = probe.Name,
                LlmDetails = new Dictionary<string, object?>(probe.Details),
                MaxBatch = probe.MaxBatch > 0 ? probe.MaxBatch : baseOptions.MaxBatch,
                Batching = probe.Batching == LlmBatching.Continuous ? "continuous" : "static",
                Cores = cores,
                WarmupS = request.Timing.Warmup.TotalSeconds,
                DurationS = request.Timing.Duration.TotalSeconds,
                Seed = request.Options.Seed,
                Price = request.Output.Price?.Describe(),
                Hardware = hardware,
                ProfileConfig = profile.Describe(),
            };
        }

        foreach (int w in workers)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                doc.Cancelled = true;
                break;
            }

            AgentSchedulerOptions options = baseOptions with { Workers = w };
            using var measurement = new AgentMeasurement(profile, tools, () => PointEndpoint(options), options, request.Timing, request.Validity, request.Llm, _clock);
            string pointFile = $"w{w}.json";
            RunOutcome run = _runner.Run(measurement, request.Output with { OutputPath = Path.Combine(folder, pointFile) }, cancellationToken: cancellationToken);
            runs.Add(run);
            AgentRunOutcome outcome = measurement.Outcome!;
            AgentRunReport r = run.Document.Agents!;
            service.Add((r.LlmBusyFraction * outcome.MaxBatch, outcome.Accounting.TimeToFirstToken, outcome.Accounting.TimePerOutputToken));
            doc.Points.Add(AgentSweepPoint.From(r, oversubscribed: w > cores, run.Document.Metrics.Value(MetricCatalog.UsdPerJob), pointFile));
            if (w <= cores)
            {
                foreach ((string name, ToolStats s) in outcome.Accounting.Tools)
                {
                    if (!samples.TryGetValue(name, out var list))
                    {
                        samples[name] = list = [];
                    }

                    list.AddRange(s.Samples);
                }
            }

            doc.Cancelled = outcome.Cancelled;
            Save();
            progress?.Invoke(AgentTables.PointLine(doc.Points[^1]));
        }

        (int? measured, double? interpolated) = CoresPerGpu.Crossing(doc.Points.Select(p => p.ToCurvePoint()).ToList());
        // Projections charge each call its CPU time: what it needs of a dedicated core (wall time on
        // this machine also holds the waits for cores that other processes took).
        bool cpuTimes = CpuTime.ThreadSupported;
        MeasuredToolCost? costs = samples.Values.Any(l => l.Count > 0)
            ? new MeasuredToolCost(
                samples.ToDictionary(
                    kv => kv.Key,
                    kv => (IReadOnlyList<(long, int)>)kv.Value.Select(s => (cpuTimes ? (long)(s.Cpu.TotalSeconds * frequency) : s.ServiceTicks, s.Tokens)).ToList(),
                    StringComparer.Ordinal),
                frequency)
            : null;
        doc.ToolCosts = samples.Where(kv => kv.Value.Count > 0).ToDictionary(kv => kv.Key, kv => ToolCostSummary.From(kv.Value, frequency), StringComparer.Ordinal);

        // A server's own speed stands in for the latency model: its measured service drives the projection.
        LatencyModel? model = request.Llm.IsLatencyModel ? request.Llm.Model ?? LatencyModel.H100Llama1B
            : remote ? MeasuredService(service, frequency) : null;
        if (model is not null && costs is not null && !doc.Cancelled)
        {
            progress?.Invoke("simulating more workers with the tool costs measured here...");
            foreach (AgentSweepPoint p in doc.Points)
            {
                var sim = new SimulatedAgentRunner(jobs, request.Options with { Workers = p.Workers }, model, costs, request.SimulationTiming);
                p.SimulatedLlmBusyFraction = AgentRunReport.From(sim.Run(), profile, "latency-model").LlmBusyFraction;
            }

            doc.Projection = CoresPerGpu.Project("this run's LLM", jobs, request.Options, model, costs, request.SimulationTiming);
            foreach (ProjectionCard card in request.Cards)
            {
                doc.Projections.Add(CoresPerGpu.Project(card.Name, jobs, request.Options, card.Model, costs, request.SimulationTiming));
            }
        }

        if (measured is { } m)
        {
            doc.CoresPerGpuFor90pctBusy = m;
            doc.CoresPerGpuInterpolated = interpolated;
            doc.CoresPerGpuBasis = "measured";
            doc.CoresPerGpuNote = string.Create(CultureInfo.InvariantCulture, $"measured with real tools on this machine: {m} workers reach {TargetText}");
        }
        else if (doc.Projection is { } proj)
        {
            doc.CoresPerGpuFor90pctBusy = proj.CoresPerGpuFor90pctBusy;
            doc.CoresPerGpuInterpolated = proj.CoresInterpolated;
            doc.CoresPerGpuBasis = proj.CoresPerGpuFor90pctBusy is null ? "unreachable" : "projected";
            doc.CoresPerGpuNote = string.Create(CultureInfo.InvariantCulture,
                $"no measured point reached {TargetText} (best {doc.Points.Max(p => p.LlmBusyFraction):P0}); {proj.Note}, with tool costs measured here on up to {Math.Min(cores, workers[^1])} workers");
        }
        else
        {
            doc.CoresPerGpuBasis = "unknown";
            doc.CoresPerGpuNote = doc.Cancelled
                ? "the sweep was cancelled"
                : $"no measured point reached {TargetText}, and projection needs a latency-model LLM and at least one successful tool call";
        }

        return new AgentSweepOutcome(doc, Save(), runs);

        // Each point is named beside the document, or by its full path when one of them was rescued elsewhere.
        WrittenResult Save() => ResultWriter.Write(path, destination =>
        {
            for (int i = 0; i < runs.Count; i++)
            {
                doc.Points[i].Result = ResultWriter.NameBeside(destination, runs[i].Path);
            }

            return JsonSerializer.Serialize(doc, ResultJson.Options);
        });
    }

    private static string TargetText => $"{CoresPerGpu.TargetBusy:P0} LLM busy";

    /// <summary>
    /// A latency model of a remote server from its steps in this sweep: TTFT and TPOT (p50) at the
    /// point with the fewest steps in flight, and TPOT's growth per extra step in flight up to the
    /// point with the most (zero when it did not grow). Null when no step finished.
    /// </summary>
    internal static LatencyModel? MeasuredService(IReadOnlyList<(double InFlight, SampleRecorder Ttft, SampleRecorder Tpot)> points, long frequency)
    {
        var usable = points.Where(p => p.Ttft.Count > 0 && p.Tpot.Count > 0).OrderBy(p => p.InFlight).ToList();
        if (usable.Count == 0)
        {
            return null;
        }

        double Ms(SampleRecorder r) => r.ValueAtPercentile(0.5) * 1000.0 / frequency;
        var low = usable[0];
        var high = usable[^1];
        double slope = high.InFlight - low.InFlight > 0.5 ? Math.Max(0, (Ms(high.Tpot) - Ms(low.Tpot)) / (high.InFlight - low.InFlight)) : 0;
        return new LatencyModel
        {
            TtftMs = Ms(low.Ttft),
            TpotMs = Ms(low.Tpot),
            TpotMsPerSequence = slope,
            Source = string.Create(CultureInfo.InvariantCulture,
                $"the endpoint's measured service in this sweep: TTFT p50 {Ms(low.Ttft):0.###} ms and TPOT p50 {Ms(low.Tpot):0.###} ms at {low.InFlight:0.#} steps in flight, TPOT +{slope:0.####} ms per step in flight up to {high.InFlight:0.#}"),
        };
    }

    /// <summary>results/&lt;machine&gt;/agents-sweep_&lt;profile&gt;_&lt;llm&gt;_a&lt;N&gt;_&lt;utc&gt;/</summary>
    private static string DefaultFolder(AgentSweepRequest r, HardwareFingerprint hardware) =>
        BenchmarkRunner.DefaultPath(r.Output.ResultsRoot, hardware, $"agents-sweep_{r.Profile.Name}_{BackendSpec.FileSafe(r.Llm.Backend)}_a{r.Options.Agents}_{BenchmarkRunner.Stamp()}");
}
