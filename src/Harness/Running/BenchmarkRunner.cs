using System.Globalization;
using Harness.Backends;
using Harness.Engine;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Results;
using Harness.Telemetry;
using Harness.Telemetry.Prometheus;

namespace Harness.Running;

/// <summary>Everything one <c>harness run</c> needs, already parsed and validated by the CLI.</summary>
public sealed record RunRequest(
    string Workload,
    BackendSpec Backend,
    WorkloadOptions Options,
    RunSettings Settings,
    string? OutputPath,
    string ResultsRoot = "results",
    IReadOnlyDictionary<string, object?>? ExtraConfig = null,
    TelemetryOptions? Telemetry = null,
    MetricsOptions? Metrics = null,
    IResultPrice? Price = null,
    DisturbanceLimits? Disturbance = null)
{
    /// <summary><c>--server-pid</c>: the server under test's process, when its port does not lead to it.</summary>
    public int? ServerPid { get; init; }

    /// <summary>Where and how its result goes: the part every kind of run shares.</summary>
    public RunOutput Output => new(OutputPath, ResultsRoot, ExtraConfig, Telemetry, Metrics, Price, Disturbance) { ServerPid = ServerPid };
}

/// <summary>
/// What every kind of run (engine or agents) shares between measuring and its file: where the result
/// goes, telemetry, live metrics, the price to put on it, how much disturbance it may share the
/// machine with (the quiet_host condition), and extra config (the command line).
/// </summary>
public sealed record RunOutput(
    string? OutputPath,
    string ResultsRoot = "results",
    IReadOnlyDictionary<string, object?>? ExtraConfig = null,
    TelemetryOptions? Telemetry = null,
    MetricsOptions? Metrics = null,
    IResultPrice? Price = null,
    DisturbanceLimits? Disturbance = null)
{
    /// <summary>
    /// <c>--server-pid</c>: the server under test's process (a server behind a proxy or in a container),
    /// read with its children; without it, a loopback server URL is traced to the process listening on its port.
    /// </summary>
    public int? ServerPid { get; init; }
}

/// <summary>
/// The result of a run: the document, where it was written, the exit code it maps to, and what went
/// wrong beside the measurement. <paramref name="Rescue"/> says why the file is not where it was asked
/// for and where it went instead (<see cref="ResultWriter"/>); null when it is.
/// </summary>
public sealed record RunOutcome(ResultDocument Document, string Path, int ExitCode, IReadOnlyList<string>? Warnings = null, string? Rescue = null)
{
    /// <summary>The outcome of a document just written: a rescued file makes the exit code 1.</summary>
    public static RunOutcome Written(ResultDocument document, WrittenResult written, int exitCode, IReadOnlyList<string>? warnings = null) =>
        new(document, written.Path, written.Rescued ? ExitCodes.Invalid : exitCode, warnings, written.RescueMessage);
}

/// <summary>
/// One run from request to result file, for every kind of run (<see cref="IMeasurement"/>): probe the
/// hardware, start telemetry and live metrics, measure, judge validity, account energy, price it,
/// write the file atomically, publish the final metrics. The CLI only parses and calls this.
/// </summary>
public sealed class BenchmarkRunner
{
    private readonly BackendRegistry _registry;
    private readonly IClock _clock;
    private readonly INvml? _nvml;

    public BenchmarkRunner(BackendRegistry registry, IClock? clock = null, INvml? nvml = null)
    {
        _registry = registry;
        _clock = clock ?? StopwatchClock.Instance;
        _nvml = nvml;
    }

    /// <summary>The packages and versions this build runs with (for the hardware fingerprint).</summary>
    public IReadOnlyDictionary<string, string?> PackageVersions => _registry.PackageVersions;

    public RunOutcome Run(RunRequest request, EngineProgress? progress = null, CancellationToken cancellationToken = default)
    {
        using var measurement = new EngineMeasurement(request, _registry, _clock);
        return Run(measurement, request.Output, progress, cancellationToken);
    }

    public RunOutcome Run(IMeasurement measurement, RunOutput output, EngineProgress? progress = null, CancellationToken cancellationToken = default)
    {
        NvmlLibrary? ownNvml = _nvml is null ? new NvmlLibrary() : null;
        bool stalled = false;
        try
        {
            return Run(measurement, output, _nvml ?? ownNvml!, progress, out stalled, cancellationToken);
        }
        finally
        {
            if (!stalled)
            {
                ownNvml?.Dispose(); // not under a sampler thread that is still inside a hung NVML call
            }
        }
    }

    private RunOutcome Run(IMeasurement measurement, RunOutput output, INvml nvml, EngineProgress? progress, out bool stalled, CancellationToken cancellationToken)
    {
        stalled = false;
        TelemetryOptions telemetryOptions = output.Telemetry ?? TelemetryOptions.Default;
        MetricsOptions metricsOptions = output.Metrics ?? MetricsOptions.None;
        HardwareFingerprint hardware = HardwareProbe.Probe(_registry.PackageVersions, nvml);
        string path = output.OutputPath ?? DefaultPath(output.ResultsRoot, hardware, measurement.DefaultFileName(Stamp()));
        ResultWriter.EnsureWritable(path);

        var warnings = new List<string>();

        // The server under test is found here, before the run: its scan of /proc is not in the window.
        using TelemetrySampler? sampler = telemetryOptions.Enabled
            ? new TelemetrySampler(
                DefaultTelemetrySources.Create(_clock, nvml, ServerProcessLocator.Locate(measurement.ServerUrl, output.ServerPid)),
                _clock,
                telemetryOptions.Interval)
            : null;
        HarnessMetrics? metrics = metricsOptions.Any ? new HarnessMetrics(measurement.Labels, _clock, sampler) : null;

        // The endpoint comes up before anything is loaded: a taken port fails the run before it starts.
        using MetricsEndpoint? endpoint = metricsOptions.Listen is { } listen ? MetricsEndpoint.Start(listen, metrics!.Registry) : null;
        using PushgatewayClient? push = metricsOptions.Pushgateway is { } gateway
            ? new PushgatewayClient(gateway, metricsOptions.Job, GroupingKey(measurement.Labels, metricsOptions))
            : null;
        if (push is not null && metricsOptions.PushDelete)
        {
            TryPush(() => push.DeleteAsync(cancellationToken), warnings);
        }

        IRunObserver? observer = new IRunObserver?[] { sampler, metrics }.OfType<IRunObserver>().ToList() switch
        {
            [] => null,
            [var one] => one,
            var many => new CompositeRunObserver(many),
        };

        MeasurementResult run = measurement.Measure(observer, metrics, progress, cancellationToken);
        sampler?.Stop();
        stalled = sampler?.Stalled ?? false;

        TelemetryReport telemetry = sampler is null ? TelemetryReport.Disabled("telemetry is off (--no-telemetry)") : sampler.Report(new TelemetryWindow(run.MeasuredWindow.Start, run.MeasuredWindow.End, run.MeasuredWindow.Frequency));
        if (sampler is not null)
        {
            EnergyAccounting.Apply(telemetry, (measurement.Device is { } device ? EnergyScope.ForBackend(device.Target is not null, device.Device, device.DeviceId, hardware.Gpus, Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES")) : EnergyScope.Cpu), run.OutputUnits, run.Workload.Unit);
        }

        var config = new Dictionary<string, object?>(measurement.Config);
        foreach ((string k, object? v) in output.ExtraConfig ?? new Dictionary<string, object?>())
        {
            config[k] = v;
        }

        ResultDocument doc = ResultBuilder.Build(run, measurement.Labels.Workload, measurement.Labels.Backend, hardware, config,
            telemetry: telemetry, telemetryAllowedGap: sampler?.AllowedGap, disturbanceLimits: output.Disturbance);
        measurement.Complete(doc);
        output.Price?.Annotate(doc);

        WrittenResult written = ResultWriter.Write(path, ResultJson.Serialize(doc));
        int exitCode = doc.Valid ? ExitCodes.Ok : ExitCodes.Invalid;

        if (metrics is not null)
        {
            metrics.SetResult(doc);
            if (endpoint is not null && metricsOptions.Linger > TimeSpan.Zero)
            {
                WaitForOneMoreScrape(endpoint, metricsOptions.Linger, cancellationToken);
            }

            if (push is not null && !TryPush(() => push.PushAsync(metrics.Registry, CancellationToken.None), warnings) && metricsOptions.PushRequired)
            {
                exitCode = ExitCodes.Invalid;
            }
        }

        return RunOutcome.Written(doc, written, exitCode, warnings);
    }

    /// <summary>instance, workload, backend: one group per machine and measurement, replaced by a rerun.</summary>
    private static IEnumerable<KeyValuePair<string, string>> GroupingKey(RunLabels labels, MetricsOptions options) =>
    [
        new("instance", options.Instance),
        new("workload", labels.Workload),
        new("backend", labels.Backend),
    ];

    /// <summary>A Pushgateway that cannot be reached is a warning, never a lost result.</summary>
    private static bool TryPush(Func<Task> action, List<string> warnings)
    {
        try
        {
            action().GetAwaiter().GetResult();
            return true;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            string why = e is TaskCanceledException ? "timed out" : e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message;
            warnings.Add($"Pushgateway: {why}");
            return false;
        }
    }

    /// <summary>Lets Prometheus read the final values: returns once one more scrape was answered in full, or when <paramref name="linger"/> ran out.</summary>
    private static void WaitForOneMoreScrape(MetricsEndpoint endpoint, TimeSpan linger, CancellationToken cancellationToken)
    {
        long before = endpoint.Served;
        var deadline = DateTime.UtcNow + linger;
        while (endpoint.Served == before && DateTime.UtcNow < deadline && !cancellationToken.IsCancellationRequested)
        {
            Thread.Sleep(50);
        }
    }

    /// <summary>results/&lt;machine&gt;/&lt;name&gt;: where a result goes when no path is given.</summary>
    public static string DefaultPath(string resultsRoot, HardwareFingerprint hardware, string name) =>
        Path.Combine(resultsRoot, HardwareProbe.MachineLabel(hardware), name);

    /// <summary>The UTC stamp of default file names: sortable, no separators a shell or Windows dislikes.</summary>
    public static string Stamp() => DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary>results/&lt;machine&gt;/&lt;workload&gt;_&lt;backend&gt;_&lt;kind&gt;_&lt;utc&gt;/: the folder of a multi-run job (sweep, repeat, A/B).</summary>
    public string DefaultFolder(RunRequest request, string kind)
    {
        HardwareFingerprint hardware = HardwareProbe.Probe(_registry.PackageVersions, _nvml);
        return DefaultPath(request.ResultsRoot, hardware, $"{request.Workload}_{request.Backend.FileLabel}_{kind}_{Stamp()}");
    }
}
