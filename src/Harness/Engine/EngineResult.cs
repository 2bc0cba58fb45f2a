using Harness.Measurement;

namespace Harness.Engine;

/// <summary>Why the measured phase stopped issuing requests.</summary>
public enum StopReason
{
    /// <summary>Minimum duration and minimum requests were both met.</summary>
    Completed,
    /// <summary>The maximum duration ran out first.</summary>
    MaxDuration,
    /// <summary>Ctrl-C or another cancellation.</summary>
    Cancelled,
    /// <summary>An open-loop scenario's backlog fell too far behind its arrival schedule: the offered rate is beyond capacity.</summary>
    Overloaded,
    /// <summary>Minimum duration and requests were met, and measuring went on past them until the tail rule held.</summary>
    TailRule,
}

/// <summary>The raw outcome of the measured phase, before it becomes a result file.</summary>
public sealed class EngineResult
{
    public required WorkloadDescription Workload { get; init; }

    public required RunSettings Settings { get; init; }

    public required DateTime StartedUtc { get; init; }

    /// <summary>Measured window, in clock ticks: from the phase start to the last request's end.</summary>
    public required long WindowStart { get; init; }

    public required long WindowEnd { get; init; }

    public required long Frequency { get; init; }

    /// <summary>Wall-clock time from the phase start to after the last request, for the clock-anomaly check.</summary>
    public required TimeSpan WallWindow { get; init; }

    /// <summary>Monotonic ticks over the same span as <see cref="WallWindow"/>; 0 when not taken (then the window is used).</summary>
    public long MonotonicWindow { get; init; }

    /// <summary>How far apart, at most, the two clocks' readings at the window's edges were (<see cref="ClockPair.UncertaintyTicks"/> of both edges).</summary>
    public long ClockUncertaintyTicks { get; init; }

    public required StopReason StopReason { get; init; }

    /// <summary>
    /// Why the phase stopped, in a sentence (which rule held or ran out, and the tail rule's counts); empty when not told.
    /// </summary>
    public string StopDetail { get; init; } = "";

    public required long WarmupRequests { get; init; }

    public required SampleRecorder Latency { get; init; }

    public required SampleRecorder TimeToFirstToken { get; init; }

    public required SampleRecorder TimePerOutputToken { get; init; }

    public required SampleRecorder InterTokenLatency { get; init; }

    /// <summary>Requests of the measured phase by how they ended.</summary>
    public required RequestCounts Outcomes { get; init; }

    public required long InputUnits { get; init; }

    public required long OutputUnits { get; init; }

    public required ErrorLog Errors { get; init; }

    /// <summary>Ok requests that met every per-request limit of <see cref="RunSettings.Slos"/> (goodput's numerator).</summary>
    public long SloMetRequests { get; init; }

    /// <summary>Output units of the requests counted in <see cref="SloMetRequests"/> (token goodput's numerator).</summary>
    public long SloMetOutputUnits { get; init; }

    /// <summary>Metrics the workload derived from this outcome (<see cref="IDerivedMetrics"/>).</summary>
    public IReadOnlyList<DerivedMetric> Derived { get; set; } = [];

    /// <summary>Distributions the workload measured beside the engine's (<see cref="IDerivedMetrics.DeriveDistributions"/>).</summary>
    public IReadOnlyList<DerivedDistribution> DerivedDistributions { get; set; } = [];

    /// <summary>The workload's own validity conditions (<see cref="IDerivedMetrics.Conditions"/>).</summary>
    public IReadOnlyList<Validity.ValidityCondition> WorkloadConditions { get; set; } = [];

    public long Count(RequestOutcome o) => Outcomes[o];

    public long TotalRequests => Outcomes.Total;

    public double WindowSeconds => (double)(WindowEnd - WindowStart) / Frequency;

    /// <summary>The measured window with its clock readings.</summary>
    public MeasuredWindow MeasuredWindow =>
        new(StartedUtc, WindowStart, WindowEnd, Frequency, WallWindow, MonotonicWindow, ClockUncertaintyTicks);

    public bool Cancelled => StopReason == StopReason.Cancelled;
}
