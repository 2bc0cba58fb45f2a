using Harness.Engine;
using Harness.Measurement;
using Harness.Validity;

namespace Harness.Results;

/// <summary>
/// What one measurement (<c>IMeasurement</c> of Harness.Running) hands the result builder, in terms every kind of run shares:
/// its window, its settings, its work units, its distributions and metrics keyed by catalog metric, its own validity
/// conditions and the sections a higher layer owns. A request-level run (the engine over a workload) adds its requests
/// (<see cref="Requests"/>): counts, latency, TTFT, SLOs, from which the builder makes the request metrics and judges the
/// request rules; a run of another kind (agents' turns) reports what it measured itself and makes no requests up.
/// </summary>
public sealed class MeasurementResult
{
    /// <summary>The work unit (tokens, samples) and the facts for the result's config.</summary>
    public required WorkloadDescription Workload { get; init; }

    /// <summary>Scenario, warm-up, stop rules, batch and seed: the result's config and the window's rules.</summary>
    public required RunSettings Settings { get; init; }

    public required MeasuredWindow MeasuredWindow { get; init; }

    public required StopReason StopReason { get; init; }

    /// <summary>Why measuring stopped, in a sentence; empty when not told.</summary>
    public string StopDetail { get; init; } = "";

    /// <summary>Input work units in the window (<see cref="WorkloadDescription.Unit"/>).</summary>
    public long InputUnits { get; init; }

    /// <summary>Output work units in the window, the numerator of throughput.</summary>
    public long OutputUnits { get; init; }

    /// <summary>What the units count when not the ok requests' (agents: every LLM step's tokens); added to their definitions.</summary>
    public string? UnitsDetail { get; init; }

    /// <summary>
    /// Distributions of catalog metrics (milliseconds), beside the request-level ones. Without <see cref="Requests"/>, the
    /// first is the measurement's main one: tail sufficiency is counted on it.
    /// </summary>
    public IReadOnlyList<DerivedDistribution> Distributions { get; init; } = [];

    /// <summary>One-number metrics of the catalog, with what this run adds to their formulas.</summary>
    public IReadOnlyList<DerivedMetric> Metrics { get; init; } = [];

    /// <summary>Definitions of a section's figures that are not catalog metrics (they go under <c>metric_definitions</c>).</summary>
    public IReadOnlyDictionary<string, string> Definitions { get; init; } = new Dictionary<string, string>();

    /// <summary>The measurement's own validity conditions, judged after the common ones.</summary>
    public IReadOnlyList<ValidityCondition> Conditions { get; init; } = [];

    public IReadOnlyList<ResultSection> Sections { get; init; } = [];

    /// <summary>Distinct error messages and their counts.</summary>
    public ErrorLog Errors { get; init; } = new();

    /// <summary>The engine's request-level outcome; null for a measurement without requests.</summary>
    public EngineResult? Requests { get; init; }

    public bool Cancelled => StopReason == StopReason.Cancelled;

    /// <summary>The engine's outcome with the sections its workload produced.</summary>
    public static MeasurementResult FromEngine(EngineResult run, IReadOnlyList<ResultSection>? sections = null) => new()
    {
        Workload = run.Workload,
        Settings = run.Settings,
        MeasuredWindow = run.MeasuredWindow,
        StopReason = run.StopReason,
        StopDetail = run.StopDetail,
        InputUnits = run.InputUnits,
        OutputUnits = run.OutputUnits,
        Distributions = run.DerivedDistributions,
        Metrics = run.Derived,
        Conditions = run.WorkloadConditions,
        Sections = sections ?? [],
        Errors = run.Errors,
        Requests = run,
    };
}
