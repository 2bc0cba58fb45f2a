using BenchmarkDotNet.Attributes;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Measurement;

namespace Harness.Benchmarks.Engine;

/// <summary>
/// The engine's own cost per request: a whole <see cref="BenchmarkEngine.Run"/> (no warm-up, a fixed
/// request count) around a workload that does nothing, divided by the request count. It includes
/// everything the engine does for a request (stop-rule check, clock reads, outcome, recording) and
/// the per-run fixed costs (recorders, merge) spread over the requests.
/// </summary>
public class BenchmarkEngineBenchmarks
{
    /// <summary>Requests per engine run; large, so the per-run fixed cost is a small share.</summary>
    public const int Requests = 1_000_000;

    private readonly BenchmarkEngine _engine = new();
    private readonly EmptyWorkload _workload = new();
    private readonly RunSettings _settings = new()
    {
        Scenario = ClosedLoopScenario.Single,
        Warmup = WarmupRule.None,
        // No minimum duration: the run ends after exactly Requests requests.
        Stop = new StopRules(TimeSpan.Zero, Requests, TimeSpan.FromHours(1)),
    };

    /// <summary>
    /// The same with the tail rule on and a latency SLO, so each request is also counted against the
    /// objective's limit. The rule's totals are taken once the minimum count is reached (p99.9, 4,603
    /// samples, is met by then), as in a run whose tail holds at its minimums.
    /// </summary>
    private readonly RunSettings _tailSettings = new()
    {
        Scenario = ClosedLoopScenario.Single,
        Warmup = WarmupRule.None,
        Stop = new StopRules(TimeSpan.Zero, Requests, TimeSpan.FromHours(1), UntilTail: true),
        Slos = [ServiceLevelObjective.Parse("p99.9<1s")],
    };

    [Benchmark(OperationsPerInvoke = Requests, Baseline = true)]
    public long EngineIteration()
    {
        EngineResult result = _engine.Run(_workload, _settings);
        return result.Count(RequestOutcome.Ok);
    }

    [Benchmark(OperationsPerInvoke = Requests)]
    public long EngineIterationWithTailRule()
    {
        EngineResult result = _engine.Run(_workload, _tailSettings);
        return result.Count(RequestOutcome.Ok);
    }
}

/// <summary>A workload whose requests do nothing: what remains is the engine.</summary>
internal sealed class EmptyWorkload : IWorkload
{
    private static readonly WorkloadDescription Description = new("samples", 1, 1, new Dictionary<string, object?>());

    public WorkloadDescription Prepare(WorkloadContext context) => Description;

    public void Execute(RequestContext request)
    {
    }

    public void Dispose()
    {
    }
}
