using System.Globalization;
using System.Text.Json;
using Harness.Engine.Scenarios;
using Harness.Metrics;
using Harness.Results;
using Harness.Validity;

namespace Harness.Running;

/// <summary>One point of a multi-run job: its label (the file name), the scenario it runs, and its batch when the job varies it.</summary>
public sealed record SweepPoint(string Label, IScenario Scenario, int? Batch = null);

/// <summary>A multi-run job with a fixed list of points: rate or concurrency sweeps, repeated runs.</summary>
public sealed record SweepPlan(string Kind, IReadOnlyList<SweepPoint> Points)
{
    /// <summary>The same open-loop scenario at each rate.</summary>
    public static SweepPlan Rates(PoissonScenario template, IEnumerable<double> rates) =>
        new("rate", rates.Select(r => new SweepPoint("rate-" + Label(r), template.WithRate(r))).ToList());

    /// <summary>A closed loop at each concurrency.</summary>
    public static SweepPlan Concurrencies(IEnumerable<int> levels) =>
        new("concurrency", levels.Select(n => new SweepPoint($"concurrency-{n}", ClosedLoopScenario.Concurrency(n))).ToList());

    /// <summary>The same scenario at each batch size (e.g. a decoder's tokens/s against batch).</summary>
    public static SweepPlan Batches(IScenario scenario, IEnumerable<int> batches) =>
        new("batch", batches.Select(b => new SweepPoint($"batch-{b}", scenario, b)).ToList());

    /// <summary>The same scenario <paramref name="count"/> times, for run-level statistics (the gate's throughput test).</summary>
    public static SweepPlan Repeats(IScenario scenario, int count) =>
        new("repeat", Enumerable.Range(1, count).Select(i => new SweepPoint($"run-{i:00}", scenario)).ToList());

    internal static string Label(double rate) => rate.ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>
/// What a multi-run job produced: its index, every run, and the exit code it maps to;
/// <paramref name="IndexRescue"/> says where the index went when its own folder could not take it.
/// </summary>
public sealed record SweepOutcome(SweepIndex Index, string IndexPath, IReadOnlyList<RunOutcome> Runs, int ExitCode, string? IndexRescue = null)
{
    /// <summary>The outcome of a finished session: any file that had to be rescued makes the exit code 1.</summary>
    internal static SweepOutcome Of(SweepSession session, int exitCode) =>
        new(session.Index, session.IndexPath, session.Runs,
            session.IndexRescue is null && session.Runs.All(r => r.Rescue is null) ? exitCode : ExitCodes.Invalid,
            session.IndexRescue);
}

/// <summary>
/// A multi-run job in progress: runs each point to its own result file in one folder and rewrites
/// the index after every point, so a job cut short (Ctrl-C, a crash) keeps what it finished.
/// </summary>
public sealed class SweepSession
{
    private readonly RunRequest _template;
    private readonly Func<RunRequest, RunOutcome> _run;
    private readonly List<RunOutcome> _runs = [];
    private readonly string _intendedIndexPath;
    private readonly Dictionary<SweepIndexEntry, string> _files = [];

    public SweepSession(RunRequest template, string kind, string folder, Func<RunRequest, RunOutcome> run)
    {
        _template = template;
        _run = run;
        Folder = folder;
        _intendedIndexPath = IndexPath = Path.Combine(folder, ResultReader.SweepIndexFileName);
        ResultWriter.EnsureWritable(IndexPath);
        Index = new SweepIndex
        {
            Kind = kind,
            Workload = template.Workload,
            Backend = template.Backend.ToString(),
            StartedUtc = DateTime.UtcNow,
            Slo = template.Settings.Slos.Count == 0 ? null : template.Settings.Slos.Select(s => s.ToString()).ToList(),
        };
        Save();
    }

    public string Folder { get; }

    /// <summary>Where the index is: in <see cref="Folder"/>, or rescued (<see cref="IndexRescue"/>).</summary>
    public string IndexPath { get; private set; }

    /// <summary>Why the last write of the index went to a temporary folder, and where; null when it did not.</summary>
    public string? IndexRescue { get; private set; }

    public SweepIndex Index { get; }

    public IReadOnlyList<RunOutcome> Runs => _runs;

    public bool Cancelled { get; private set; }

    /// <summary>
    /// Runs one point of a fixed plan. A point that cannot run (its KV cache and weights do not fit,
    /// the device runs out of memory while preparing) is recorded in the index as failed with its
    /// reason, and the job goes on; null then.
    /// </summary>
    public RunOutcome? TryRun(SweepPoint point)
    {
        try
        {
            return Run(point.Label, point.Scenario, point.Batch);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failures.Add(e);
            Index.Points.Add(new SweepIndexEntry
            {
                Label = point.Label,
                Scenario = point.Scenario.Name,
                Rate = (point.Scenario as PoissonScenario)?.Rate,
                Workers = point.Scenario.Workers,
                Batch = point.Batch ?? _template.Settings.Batch,
                Valid = false,
                Error = e.Message,
                FinishedUtc = DateTime.UtcNow,
            });
            Save();
            return null;
        }
    }

    /// <summary>Points that failed to run, in order.</summary>
    public List<Exception> Failures { get; } = [];

    /// <summary>Runs one point, writes its result and the updated index; returns the run.</summary>
    public RunOutcome Run(string label, IScenario scenario, int? batch = null)
    {
        var extra = new Dictionary<string, object?>(_template.ExtraConfig ?? new Dictionary<string, object?>())
        {
            [ConfigKeys.SweepKind] = Index.Kind,
            [ConfigKeys.SweepPoint] = label,
        };
        RunRequest request = _template with
        {
            Settings = _template.Settings with { Scenario = scenario, Batch = batch ?? _template.Settings.Batch },
            OutputPath = Path.Combine(Folder, label + ".json"),
            ExtraConfig = extra,
        };
        RunOutcome outcome = _run(request);
        _runs.Add(outcome);
        SweepIndexEntry entry = Entry(label, scenario, request.Settings.Batch, outcome);
        _files[entry] = Path.GetFullPath(outcome.Path);
        Index.Points.Add(entry);
        if (outcome.Document.Cancelled)
        {
            Cancelled = true;
            Index.Status = "cancelled";
        }

        Save();
        return outcome;
    }

    /// <summary>Marks the job finished (or cancelled) in the index.</summary>
    public void Complete(PeakSearchSummary? search = null)
    {
        Index.Status = Cancelled ? "cancelled" : "complete";
        Index.Search = search;
        Save();
    }

    /// <summary>
    /// Rewrites the index; each point's file is named relative to the index's folder when it lies
    /// there, else by its full path (a point or the index rescued to a temporary folder).
    /// </summary>
    private void Save()
    {
        WrittenResult written = ResultWriter.Write(_intendedIndexPath, destination =>
        {
            foreach ((SweepIndexEntry entry, string file) in _files)
            {
                entry.File = ResultWriter.NameBeside(destination, file);
            }

            return JsonSerializer.Serialize(Index, ResultJson.Options);
        });
        (IndexPath, IndexRescue) = (written.Path, written.RescueMessage);
    }

    private SweepIndexEntry Entry(string label, IScenario scenario, int batch, RunOutcome outcome)
    {
        ResultDocument d = outcome.Document;
        ValidityCondition? slo = d.Validity.FirstOrDefault(v => v.Name == ConditionNames.Slo);
        return new SweepIndexEntry
        {
            Label = label,
            File = Path.GetFileName(outcome.Path),
            Scenario = scenario.Name,
            Rate = (scenario as PoissonScenario)?.Rate,
            Workers = scenario.Workers,
            Batch = batch,
            Valid = d.Valid,
            SloMet = _template.Settings.Slos.Count > 0 ? slo?.Passed : null,
            ThroughputPerS = d.Metrics.ThroughputPerS,
            RequestsPerS = d.Metrics.RequestsPerS,
            LatencyP50Ms = d.Metrics.LatencyMs?.P50,
            LatencyP99Ms = d.Metrics.LatencyMs?.P99,
            GoodputPerS = d.Metrics.Value(MetricCatalog.GoodputPerS),
            FinishedUtc = DateTime.UtcNow,
        };
    }
}

/// <summary>Runs multi-run jobs: fixed plans (sweeps, repeats) and the SLO search.</summary>
public static class SweepRunner
{
    /// <summary>
    /// Runs every point in order; stops early on Ctrl-C. A point that fails to run is listed as failed
    /// with its reason and the job goes on; when every point failed, the first failure is rethrown
    /// (bad input common to all points stays bad input). Exit 0 when every point is valid.
    /// </summary>
    public static SweepOutcome Run(RunRequest template, SweepPlan plan, string folder, Func<RunRequest, RunOutcome> run)
    {
        var session = new SweepSession(template, plan.Kind, folder, run);
        foreach (SweepPoint point in plan.Points)
        {
            session.TryRun(point);
            if (session.Cancelled)
            {
                break;
            }
        }

        if (session.Runs.Count == 0 && session.Failures.Count > 0)
        {
            session.Complete();
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(session.Failures[0]).Throw();
        }

        session.Complete();
        bool allValid = session.Runs.Count == plan.Points.Count && session.Runs.All(r => r.Document.Valid);
        return SweepOutcome.Of(session, allValid ? ExitCodes.Ok : ExitCodes.Invalid);
    }

    /// <summary>
    /// The highest Poisson rate whose run is valid with every SLO met (MLPerf's Server metric), by
    /// <see cref="PeakRateSearch"/>. Exit 0 when a passing rate was found.
    /// </summary>
    public static SweepOutcome FindPeak(RunRequest template, PoissonScenario start, double precision, int maxRuns, string folder, Func<RunRequest, RunOutcome> run)
    {
        if (template.Settings.Slos.Count == 0)
        {
            throw HarnessException.BadInput("--slo-search needs an objective: add --slo, e.g. --slo \"p99<50ms\".");
        }

        var session = new SweepSession(template, "slo_search", folder, run);
        var files = new Dictionary<double, string>();
        PeakRateSearch.Result result;
        try
        {
            result = PeakRateSearch.Find(start.Rate, rate =>
            {
                RunOutcome o = session.Run($"search-{session.Runs.Count + 1:00}-rate-{SweepPlan.Label(rate)}", start.WithRate(rate));
                if (session.Cancelled)
                {
                    throw new OperationCanceledException();
                }

                files[rate] = Path.GetFileName(o.Path);
                if (!o.Document.Valid && NotJudgedByLoad(o.Document) is { } reason)
                {
                    throw new UnjudgeablePointException(
                        $"the point at {SweepPlan.Label(rate)} req/s is INVALID for a reason the rate does not decide ({reason}); "
                        + "lengthen --duration or --max-duration (and leave --min-requests out: the tail rule then waits "
                        + "for the samples each point needs) so that every point can be judged on its SLO");
                }

                return o.Document.Valid;
            }, precision, maxRuns);
        }
        catch (OperationCanceledException)
        {
            session.Complete(new PeakSearchSummary(null, null, null, false, precision, "cancelled before the search finished"));
            return SweepOutcome.Of(session, ExitCodes.Invalid);
        }
        catch (UnjudgeablePointException e)
        {
            session.Complete(new PeakSearchSummary(null, null, null, false, precision, "stopped: " + e.Message));
            return SweepOutcome.Of(session, ExitCodes.Invalid);
        }

        string detail = result switch
        {
            { Peak: null } => $"no rate met the SLO down to {SweepPlan.Label(result.Evaluations[^1].Rate)} req/s",
            { LowestFailing: null } => $"every rate up to {SweepPlan.Label(result.Peak.Value)} req/s met the SLO; the run budget ended before a failing rate",
            { Converged: false } => $"peak between {SweepPlan.Label(result.Peak.Value)} and {SweepPlan.Label(result.LowestFailing.Value)} req/s; the run budget ended before the bracket closed to {precision * 100:0.#}%",
            _ => $"peak {SweepPlan.Label(result.Peak!.Value)} req/s; {SweepPlan.Label(result.LowestFailing!.Value)} req/s failed",
        };
        session.Complete(new PeakSearchSummary(result.Peak, result.Peak is { } p ? files[p] : null, result.LowestFailing, result.Converged, precision, detail));
        return SweepOutcome.Of(session, result.Peak is null ? ExitCodes.Invalid : ExitCodes.Ok);
    }

    /// <summary>
    /// The first failed condition that a lower rate would not fix (too short, too few requests for
    /// the tail even with no miss, cancelled, clock); null when every failure is the load's (the
    /// SLO, overload, errors, or misses that raised the tail's sample bound). Halving the rate after
    /// a failure of the first kind would only make it worse.
    /// </summary>
    internal static string? NotJudgedByLoad(ResultDocument doc)
    {
        foreach (ValidityCondition c in doc.Validity.Where(v => !v.Passed))
        {
            if (ConditionNames.LoadDependent.Contains(c.Name))
            {
                continue;
            }

            if (ConditionNames.EnoughSamplesPercentile(c.Name) is { } percentile
                && doc.TailSufficiency.FirstOrDefault(t => t.Percentile == percentile) is { Sufficient: true })
            {
                continue; // enough requests with no miss: the misses the load caused failed it
            }

            return $"{c.Name}: {c.Detail}";
        }

        return null;
    }

    private sealed class UnjudgeablePointException(string message) : Exception(message);
}
