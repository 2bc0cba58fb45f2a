using Harness.Backends;
using Harness.Engine;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Results;
using Harness.Telemetry.Prometheus;

namespace Harness.Running;

/// <summary>The engine over one workload of a backend, under the request's scenario and stop rules.</summary>
public sealed class EngineMeasurement(RunRequest request, BackendRegistry registry, IClock clock) : IMeasurement
{
    public RunLabels Labels { get; } = new(request.Backend.ToString(), request.Workload, request.Settings.Scenario.Name);

    public BackendSpec? Device => request.Backend;

    public string? ServerUrl => request.Backend.Target;

    public IReadOnlyDictionary<string, object?> Config { get; } = new Dictionary<string, object?>
    {
        [ConfigKeys.Backend] = request.Backend.ToString(),
        [ConfigKeys.Threads] = request.Options.Threads,
        [ConfigKeys.InterOpThreads] = request.Options.InterOpThreads,
        [ConfigKeys.Optimization] = request.Options.Optimization.Name(),
        [ConfigKeys.ModelPathOption] = request.Options.ModelPath,
        [ConfigKeys.Shapes] = request.Options.Shapes.Count == 0 ? null : request.Options.Shapes.ToDictionary(kv => kv.Key, kv => string.Join("x", kv.Value)),
        [ConfigKeys.Set] = request.Options.Extra.Count == 0 ? null : request.Options.Extra,
    };

    public string DefaultFileName(string stamp) =>
        $"{request.Workload}_{request.Backend.FileLabel}_{request.Settings.Scenario.Name.Replace(':', '-')}_{stamp}.json";

    public MeasurementResult Measure(IRunObserver? observer, HarnessMetrics? metrics, EngineProgress? progress, CancellationToken cancellationToken)
    {
        using IWorkload workload = registry.Create(request.Workload, request.Backend, request.Options);
        EngineResult run = new BenchmarkEngine(clock, observer).Run(workload, request.Settings, progress, cancellationToken);

        // The workload's own sections (serving...) are asked for before it is disposed.
        return MeasurementResult.FromEngine(run, workload is IWorkloadSections sections ? sections.Sections(run) : null);
    }

    public void Complete(ResultDocument document)
    {
    }

    public void Dispose()
    {
    }
}
