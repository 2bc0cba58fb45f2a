using Harness.Decoding;
using Harness.Engine;
using Harness.Measurement;
using Harness.Results;

namespace Harness.OpenAI;

/// <summary>
/// <c>generate</c> against <c>openai:URL</c>: its own workload class beside the in-process decoder's
/// <see cref="GenerateWorkload"/>, under the same name. It is created with its options parsed and
/// checked (<see cref="EndpointRunSpec"/>); <see cref="Prepare"/> connects (asks /models which
/// model it serves), then hands the connection to the core's <see cref="EndpointRequests"/>, which
/// sends one request per dataset item under any scenario and measures them.
/// </summary>
public sealed class EndpointGenerateWorkload(EndpointRunSpec spec, IClock? clock = null)
    : IWorkload, IDerivedMetrics, IWorkloadSections, IRunObserver
{
    private readonly IClock _clock = clock ?? StopwatchClock.Instance;
    private EndpointRequests? _requests;

    public EndpointRunSpec Spec => spec;

    private EndpointRequests Requests => _requests ?? throw new InvalidOperationException("not prepared");

    public WorkloadDescription Prepare(WorkloadContext context)
    {
        EndpointRequests.RequireOneSequence(context);
        var settings = new EndpointSettings { Clock = _clock, RequestTimeout = context.RequestTimeout };
        EndpointConnection connection = OpenAiBackendProvider.Connect(spec, settings);
        _requests = new EndpointRequests(connection, spec.Requests, spec.Name, _clock);
        return _requests.Prepare(context);
    }

    public void Execute(RequestContext request) => Requests.Execute(request);

    public IReadOnlyList<DerivedMetric> Derive(EngineResult run) => Requests.Derive(run);

    public IReadOnlyList<DerivedDistribution> DeriveDistributions(EngineResult run) => Requests.DeriveDistributions(run);

    public IReadOnlyList<Validity.ValidityCondition> Conditions(EngineResult run) => Requests.Conditions(run);

    public IReadOnlyList<ResultSection> Sections(EngineResult run) =>
        [ResultSection.Of(Requests.Serving(run))];

    public void PhaseStarted(string phase, long timestamp) => _requests?.PhaseStarted(phase, timestamp);

    public void RequestEnded(RequestOutcome outcome, long latencyTicks, int inputUnits, int outputUnits)
    {
    }

    public void Dispose() => _requests?.Dispose();
}
