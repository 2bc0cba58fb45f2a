using Harness.Results;

namespace Harness.Fleet;

/// <summary>
/// What a task's script records after the harness exits (status/task-N.json): the exit code, where
/// it ran and when. A task without one never finished its script (killed, timed out, never started).
/// </summary>
public sealed class TaskExitRecord
{
    /// <summary>1; records of scripts written before the version was recorded have none and read as 1.</summary>
    public int SchemaVersion { get; set; } = 1;

    public int Task { get; set; }

    /// <summary>Tasks in the fleet, as the scheduler told the task; 0 when unknown.</summary>
    public int Tasks { get; set; }

    public int ExitCode { get; set; }

    /// <summary>The scheduler's name for the node (Slurm node name, Kubernetes node); the hostname otherwise.</summary>
    public string Node { get; set; } = "";

    public string Hostname { get; set; } = "";

    /// <summary>The GPUs the scheduler gave the task (SLURM_JOB_GPUS, CUDA_VISIBLE_DEVICES); empty when none.</summary>
    public string Gpus { get; set; } = "";

    public string JobId { get; set; } = "";

    public DateTime? StartedUtc { get; set; }

    public DateTime? EndedUtc { get; set; }

    /// <summary>
    /// Reads a record through the one reader of harness documents; a malformed one (or one of a newer
    /// schema) becomes a reason instead of an exception (a task may die mid-write elsewhere); null
    /// with no reason when there is none.
    /// </summary>
    public static TaskExitRecord? TryRead(string path, out string? problem)
    {
        problem = null;
        if (!File.Exists(path))
        {
            return null;
        }

        if (HarnessDocument.TryRead(path, DocumentKind.TaskExit, out TaskExitRecord? record, out string? why))
        {
            return record;
        }

        problem = $"its exit record {Path.GetFileName(path)} is unreadable ({why})";
        return null;
    }
}
