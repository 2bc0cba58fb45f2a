using Harness.Backends;
using Harness.Engine;
using Harness.Measurement;
using Harness.Results;
using Harness.Telemetry.Prometheus;

namespace Harness.Running;

/// <summary>
/// What one run measures, between the runner's set-up (hardware, output path, telemetry, live
/// metrics) and its result file (validity, energy, cost, the atomic write): the engine over a
/// workload (<see cref="EngineMeasurement"/>), or agents with their tools. One runner for every kind
/// of run, so each gets the same telemetry, metrics export, price and file.
/// </summary>
public interface IMeasurement : IDisposable
{
    /// <summary>Workload, backend and scenario: the result's names and the live metrics' labels.</summary>
    RunLabels Labels { get; }

    /// <summary>The device the measured work ran on, whose energy is the run's; null for a modeled device (the host's CPU is measured).</summary>
    BackendSpec? Device { get; }

    /// <summary>The URL of the server under test (an endpoint backend); null when the work runs in this process.</summary>
    string? ServerUrl => null;

    /// <summary>Settings of this kind of run that belong in the result's config beside the engine's.</summary>
    IReadOnlyDictionary<string, object?> Config { get; }

    /// <summary>The file name under results/&lt;machine&gt;/ when none is given, from a UTC stamp.</summary>
    string DefaultFileName(string stamp);

    /// <summary>
    /// Prepares, warms up and measures, telling <paramref name="observer"/> the phases and the measured
    /// requests; <paramref name="metrics"/> (when live metrics are on) may take series of its own. The result says what
    /// was measured in terms every run shares (window, units, catalog metrics, conditions, sections), with the engine's
    /// requests only where there were requests.
    /// </summary>
    MeasurementResult Measure(
        IRunObserver? observer, HarnessMetrics? metrics, EngineProgress? progress, CancellationToken cancellationToken);

    /// <summary>Adds what this kind of result carries beyond its measurement (a duet side's windows...).</summary>
    void Complete(ResultDocument document);
}
