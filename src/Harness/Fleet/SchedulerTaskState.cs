namespace Harness.Fleet;

/// <summary>
/// What the scheduler says about one task (Slurm: squeue or sacct), to explain a task that left
/// no result: still pending, timed out, cancelled, lost with its node.
/// </summary>
/// <param name="Task">The array index.</param>
/// <param name="State">The scheduler's state name (PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, NODE_FAIL...).</param>
/// <param name="Node">Where it runs or ran, when known.</param>
/// <param name="Reason">The scheduler's reason (squeue's %r: Resources, Priority...) or exit code (sacct's ExitCode).</param>
/// <param name="Source">Which command said so.</param>
public sealed record SchedulerTaskState(int Task, string State, string? Node, string? Reason, string Source)
{
    private static readonly HashSet<string> ActiveStates = new(StringComparer.OrdinalIgnoreCase)
    {
        "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
        "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD",
    };

    /// <summary>True while the task may still write its result.</summary>
    public bool IsActive => ActiveStates.Contains(State);

    public override string ToString()
    {
        string where = string.IsNullOrEmpty(Node) ? "" : $" on {Node}";
        string why = string.IsNullOrEmpty(Reason) || Reason is "None" or "0:0" ? "" : $" ({Reason})";
        return $"{State}{where}{why} per {Source}";
    }
}
