using System.Globalization;
using Harness.Backends;
using Harness.Cost;
using Harness.Engine;
using Harness.Hardware;
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
    PriceOffer? Price = null);

/// <summary>The result of a run: the document, where it was written, the exit code it maps to, and what went wrong beside the measurement.</summary>
public sealed record RunOutcome(ResultDocument Document, string Path, int ExitCode, IReadOnlyList<string>? Warnings = null);

/// <summary>
/// One benchmark from request to result file: resolve the workload, probe the hardware, run the
/// engine, judge validity, write the file atomically. The CLI only parses and calls this.
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

    public RunOutcome Run(RunRequest request, EngineProgress? progress = null, CancellationToken cancellationToken = default)
    {
        NvmlLibrary? ownNvml = _nvml is null ? new NvmlLibrary() : null;
        bool stalled = false;
        try
        {
            return Run(request, _nvml ?? ownNvml!, progress, out stalled, cancellationToken);
        }
        finally
        {
            if (!stalled)
            {
                ownNvml?.Dispose(); // not under a sampler thread that is still inside a hung NVML call
            }
        }
    }

    private RunOutcome Run(RunRequest request, INvml nvml, EngineProgress? progress, out bool stalled, CancellationToken cancellationToken)
    {
        stalled = false;
        TelemetryOptions telemetryOptions = request.Telemetry ?? TelemetryOptions.Default;
        MetricsOptions metricsOptions = request.Metrics ?? MetricsOptions.None;
        HardwareFingerprint hardware = HardwareProbe.Probe(_registry.PackageVersions, nvml);
        string path = request.OutputPath ?? DefaultPath(request, hardware);
        EnsureWritable(path);

        var warnings = new List<string>();
        using TelemetrySampler? sampler = telemetryOptions.Enabled
            ? new TelemetrySampler(DefaultTelemetrySources.Create(_clock, nvml), _clock, telemetryOptions.Interval)
            : null;
        HarnessMetrics? metrics = metricsOptions.Any
            ? new HarnessMetrics(new RunLabels(request.Backend.ToString(), request.Workload, request.Settings.Scenario.Name), _clock, sampler)
            : null;

        // The endpoint comes up before anything is loaded: a taken port fails the run before it starts.
        using MetricsEndpoint? endpoint = metricsOptions.Listen is { } listen ? MetricsEndpoint.Start(listen, metrics!.Registry) : null;
        using PushgatewayClient? push = metricsOptions.Pushgateway is { } gateway
            ? new PushgatewayClient(gateway, metricsOptions.Job, GroupingKey(request, metricsOptions))
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

        using IWorkload workload = _registry.Create(request.Workload, request.Backend, request.Options);
        EngineResult run = new BenchmarkEngine(_clock, observer).Run(workload, request.Settings, progress, cancellationToken);
        sampler?.Stop();
        stalled = sampler?.Stalled ?? false;

        TelemetryReport telemetry = sampler is null ? TelemetryReport.Disabled("telemetry is off (--no-telemetry)") : sampler.Report(new TelemetryWindow(run.WindowStart, run.WindowEnd, run.Frequency));
        if (sampler is not null)
        {
            EnergyAccounting.Apply(telemetry, EnergyScope.ForBackend(request.Backend, hardware.Gpus, Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES")), run.OutputUnits, run.Workload.Unit);
        }

        var config = new Dictionary<string, object?>
        {
            ["backend"] = request.Backend.ToString(),
            ["threads"] = request.Options.Threads,
            ["inter_op_threads"] = request.Options.InterOpThreads,
            ["optimization"] = request.Options.Optimization,
            ["model_path_option"] = request.Options.ModelPath,
            ["shapes"] = request.Options.Shapes.Count == 0 ? null : request.Options.Shapes.ToDictionary(kv => kv.Key, kv => string.Join("x", kv.Value)),
            ["set"] = request.Options.Extra.Count == 0 ? null : request.Options.Extra,
        };
        if (request.ExtraConfig is not null)
        {
            foreach ((string k, object? v) in request.ExtraConfig)
            {
                config[k] = v;
            }
        }

        ResultDocument doc = ResultBuilder.Build(run, request.Workload, request.Backend.ToString(), hardware, config,
            telemetry: telemetry, telemetryAllowedGap: sampler?.AllowedGap);
        if (request.Price is { } price)
        {
            ResultCost.Annotate(doc, price);
        }

        AtomicFile.WriteAllText(path, ResultJson.Serialize(doc));
        int exitCode = doc.Valid ? ExitCodes.Ok : ExitCodes.Invalid;

        if (metrics is not null)
        {
            metrics.SetResult(doc);
            if (endpoint is not null && metricsOptions.Linger > TimeSpan.Zero)
            {
                WaitForOneMoreScrape(metrics, metricsOptions.Linger, cancellationToken);
            }

            if (push is not null && !TryPush(() => push.PushAsync(metrics.Registry, CancellationToken.None), warnings) && metricsOptions.PushRequired)
            {
                exitCode = ExitCodes.Invalid;
            }
        }

        return new RunOutcome(doc, path, exitCode, warnings);
    }

    /// <summary>instance, workload, backend: one group per machine and measurement, replaced by a rerun.</summary>
    private static IEnumerable<KeyValuePair<string, string>> GroupingKey(RunRequest request, MetricsOptions options) =>
    [
        new("instance", options.Instance),
        new("workload", request.Workload),
        new("backend", request.Backend.ToString()),
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

    /// <summary>Lets Prometheus read the final values: returns after the next scrape, or when <paramref name="linger"/> ran out.</summary>
    private static void WaitForOneMoreScrape(HarnessMetrics metrics, TimeSpan linger, CancellationToken cancellationToken)
    {
        long before = metrics.Collections;
        var deadline = DateTime.UtcNow + linger;
        while (metrics.Collections == before && DateTime.UtcNow < deadline && !cancellationToken.IsCancellationRequested)
        {
            Thread.Sleep(50);
        }
    }

    /// <summary>results/&lt;machine&gt;/&lt;workload&gt;_&lt;backend&gt;_&lt;scenario&gt;_&lt;utc&gt;.json</summary>
    public static string DefaultPath(RunRequest request, HardwareFingerprint hardware)
    {
        string stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        string name = $"{request.Workload}_{request.Backend.FileLabel}_{request.Settings.Scenario.Name.Replace(':', '-')}_{stamp}.json";
        return Path.Combine(request.ResultsRoot, HardwareProbe.MachineLabel(hardware), name);
    }

    /// <summary>results/&lt;machine&gt;/&lt;workload&gt;_&lt;backend&gt;_&lt;kind&gt;_&lt;utc&gt;/: the folder of a multi-run job (sweep, repeat, A/B).</summary>
    public string DefaultFolder(RunRequest request, string kind)
    {
        HardwareFingerprint hardware = HardwareProbe.Probe(_registry.PackageVersions, _nvml);
        string stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        string name = $"{request.Workload}_{request.Backend.FileLabel}_{kind}_{stamp}";
        return Path.Combine(request.ResultsRoot, HardwareProbe.MachineLabel(hardware), name);
    }

    /// <summary>Fails before measuring, not after, when the result could not be written.</summary>
    public static void EnsureWritable(string path)
    {
        try
        {
            string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
            Directory.CreateDirectory(dir);
            if (Directory.Exists(path))
            {
                throw HarnessException.BadInput($"Output path '{path}' is a directory; give a file name such as {Path.Combine(path, "result.json")}.");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw HarnessException.BadInput($"Cannot write the result to '{path}': {e.Message}", e);
        }
    }
}
