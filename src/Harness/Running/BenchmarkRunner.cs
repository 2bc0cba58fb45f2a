using System.Globalization;
using Harness.Backends;
using Harness.Engine;
using Harness.Hardware;
using Harness.Results;

namespace Harness.Running;

/// <summary>Everything one <c>harness run</c> needs, already parsed and validated by the CLI.</summary>
public sealed record RunRequest(
    string Workload,
    BackendSpec Backend,
    WorkloadOptions Options,
    RunSettings Settings,
    string? OutputPath,
    string ResultsRoot = "results",
    IReadOnlyDictionary<string, object?>? ExtraConfig = null);

/// <summary>The result of a run: the document, where it was written, and the exit code it maps to.</summary>
public sealed record RunOutcome(ResultDocument Document, string Path, int ExitCode);

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
        HardwareFingerprint hardware = HardwareProbe.Probe(_registry.PackageVersions, _nvml);
        string path = request.OutputPath ?? DefaultPath(request, hardware);
        EnsureWritable(path);

        using IWorkload workload = _registry.Create(request.Workload, request.Backend, request.Options);
        EngineResult run = new BenchmarkEngine(_clock).Run(workload, request.Settings, progress, cancellationToken);

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

        ResultDocument doc = ResultBuilder.Build(run, request.Workload, request.Backend.ToString(), hardware, config);
        AtomicFile.WriteAllText(path, ResultJson.Serialize(doc));
        return new RunOutcome(doc, path, doc.Valid ? ExitCodes.Ok : ExitCodes.Invalid);
    }

    /// <summary>results/&lt;machine&gt;/&lt;workload&gt;_&lt;backend&gt;_&lt;scenario&gt;_&lt;utc&gt;.json</summary>
    public static string DefaultPath(RunRequest request, HardwareFingerprint hardware)
    {
        string stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        string name = $"{request.Workload}_{request.Backend.ToString().Replace(':', '-')}_{request.Settings.Scenario.Name.Replace(':', '-')}_{stamp}.json";
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
