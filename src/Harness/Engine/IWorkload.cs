namespace Harness.Engine;

/// <summary>
/// What a benchmark measures. The workload does the work; the engine owns timing, warm-up,
/// stop rules and outcomes. Prepare once, then Execute many times, possibly from several threads
/// at once (one per in-flight request; <see cref="RequestContext.WorkerIndex"/> tells which).
/// </summary>
public interface IWorkload : IDisposable
{
    /// <summary>Loads models, allocates buffers and synthesizes inputs. Not timed.</summary>
    WorkloadDescription Prepare(WorkloadContext context);

    /// <summary>
    /// Runs one request. Reports tokens through <see cref="RequestContext.MarkToken"/> as they reach
    /// the host, and work units through <see cref="RequestContext.InputUnits"/> and
    /// <see cref="RequestContext.OutputUnits"/>. Throwing marks the request as an error.
    /// </summary>
    void Execute(RequestContext request);
}

/// <summary>What the engine tells a workload before it prepares.</summary>
public sealed record WorkloadContext(
    int Batch,
    int Workers,
    int Seed,
    CancellationToken CancellationToken)
{
    /// <summary>The run's request timeout (<c>--timeout</c>): a workload that can cut a request there (a remote one) does; null for none.</summary>
    public TimeSpan? RequestTimeout { get; init; }
}

/// <summary>What a prepared workload tells the engine and the result file.</summary>
/// <param name="Unit">The work unit counted by throughput: "samples" or "tokens".</param>
/// <param name="InputUnitsPerRequest">Default input units of a request (samples in a batch, prompt tokens).</param>
/// <param name="OutputUnitsPerRequest">Default output units (samples, generated tokens).</param>
/// <param name="Details">Facts about the prepared workload for the result's config (model path, shapes...).</param>
public sealed record WorkloadDescription(
    string Unit,
    int InputUnitsPerRequest,
    int OutputUnitsPerRequest,
    IReadOnlyDictionary<string, object?> Details);
