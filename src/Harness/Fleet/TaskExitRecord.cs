using System.Text.Json;
using Harness.Results;

namespace Harness.Fleet;

/// <summary>
/// What a task's script records after the harness exits (status/task-N.json): the exit code, where
/// it ran and when. A task without one never finished its script (killed, timed out, never started).
/// </summary>
public sealed class TaskExitRecord
{
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

    /// <summary>Reads a record; a malformed one becomes a reason instead of an exception (a task may die mid-write elsewhere).</summary>
    public static TaskExitRecord? TryRead(string path, out string? problem)
    {
        problem = null;
        try
        {
            string text = File.ReadAllText(path);
            return JsonSerializer.Deserialize<TaskExitRecord>(text, ResultJson.Options)
                ?? throw new JsonException("empty");
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            problem = $"its exit record {Path.GetFileName(path)} is unreadable ({e.Message})";
            return null;
        }
    }
}
