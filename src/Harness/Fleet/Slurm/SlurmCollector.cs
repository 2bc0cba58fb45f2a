using System.Diagnostics;

namespace Harness.Fleet.Slurm;

/// <summary>How long collect waits for a job, and how it merges.</summary>
public sealed record CollectOptions
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(30);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(10);

    public MergeOptions Merge { get; init; } = new();
}

/// <summary>The merge of a collected job, and whether collect stopped waiting before the job ended.</summary>
public sealed record CollectOutcome(FleetSummary Summary, bool StoppedWaiting);

/// <summary>
/// Follows a submitted fleet job until no task is pending or running (bounded by a timeout), then
/// merges its results with what Slurm says about each task, so that a task that timed out, was
/// cancelled or never started is listed with that reason.
/// </summary>
public sealed class SlurmCollector
{
    private readonly SlurmClient _client;
    private readonly IProcessRunner _runner;
    private readonly Func<TimeSpan, CancellationToken, bool> _sleep;

    /// <param name="sleep">Waits between polls; returns false when cancelled. Tests pass one that does not sleep.</param>
    public SlurmCollector(IProcessRunner? runner = null, Func<TimeSpan, CancellationToken, bool>? sleep = null)
    {
        _runner = runner ?? SystemProcessRunner.Instance;
        _client = new SlurmClient(_runner);
        _sleep = sleep ?? ((t, ct) => !ct.WaitHandle.WaitOne(t));
    }

    public CollectOutcome Collect(string folder, CollectOptions options, TextWriter? progress = null, CancellationToken cancellationToken = default)
    {
        var layout = new FleetLayout(folder);
        if (!Directory.Exists(folder))
        {
            throw HarnessException.BadInput($"The results folder '{folder}' does not exist.");
        }

        FleetManifest manifest = FleetManifest.TryRead(layout)
            ?? throw HarnessException.BadInput($"'{folder}' holds no {FleetLayout.ManifestFileName}, so it was not submitted by 'harness slurm submit'; merge a folder of results with 'harness merge {folder}'.");
        bool slurmHere = _runner.Locate("squeue") is not null;
        IReadOnlyList<SchedulerTaskState> states = [];
        bool stoppedWaiting = false;
        int lastDone = -1;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            states = slurmHere ? _client.Query(manifest.JobId) : [];
            int done = Enumerable.Range(0, manifest.Tasks).Count(t => File.Exists(layout.StatusPath(t)));
            int active = states.Count(s => s.IsActive);
            if (active == 0 || done >= manifest.Tasks)
            {
                break;
            }

            TimeSpan left = options.Timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                stoppedWaiting = true;
                break;
            }

            if (done != lastDone)
            {
                progress?.WriteLine($"harness: job {manifest.JobId}: {done} of {manifest.Tasks} tasks finished, {active} pending or running; waiting up to {left.TotalMinutes:0.#} min more.");
                lastDone = done;
            }

            if (!_sleep(left < options.PollInterval ? left : options.PollInterval, cancellationToken))
            {
                stoppedWaiting = true;
                break;
            }
        }

        FleetSummary summary = FleetMerge.Merge(folder, options.Merge with { ExpectedTasks = manifest.Tasks, SchedulerStates = states });
        if (!slurmHere)
        {
            summary.Notes.Add("Slurm is not installed where collect ran: the merge used the files only, without the scheduler's word on missing tasks.");
        }

        if (stoppedWaiting)
        {
            summary.Notes.Add(cancellationToken.IsCancellationRequested
                ? "Collect was interrupted before the job ended: tasks still pending or running are listed as missing."
                : $"Collect stopped waiting after {options.Timeout.TotalMinutes:0.#} min: tasks still pending or running are listed as missing.");
        }

        return new CollectOutcome(summary, stoppedWaiting);
    }
}
