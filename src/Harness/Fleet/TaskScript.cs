using System.Text;

namespace Harness.Fleet;

/// <summary>How one scheduler names the things a task needs to know about itself.</summary>
/// <param name="IndexVariable">The environment variable that holds the task's index (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX).</param>
/// <param name="NodeVariable">The variable that names the node the task landed on (SLURMD_NODENAME, NODE_NAME); the hostname when unset.</param>
/// <param name="JobIdVariable">The variable that holds the scheduler's job id or name.</param>
/// <param name="TaskCountVariable">The variable that holds the number of tasks in the fleet.</param>
/// <param name="CaptureLogs">Write the harness's stdout and stderr to logs/ as well (Slurm does that itself through --output).</param>
public sealed record TaskEnvironment(string IndexVariable, string NodeVariable, string JobIdVariable, string TaskCountVariable, bool CaptureLogs)
{
    public static TaskEnvironment Slurm { get; } = new("SLURM_ARRAY_TASK_ID", "SLURMD_NODENAME", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_COUNT", CaptureLogs: false);

    /// <summary>A Kubernetes Indexed Job; the manifest sets NODE_NAME, HARNESS_JOB_NAME and HARNESS_FLEET_TASKS.</summary>
    public static TaskEnvironment Kubernetes { get; } = new("JOB_COMPLETION_INDEX", "NODE_NAME", "HARNESS_JOB_NAME", "HARNESS_FLEET_TASKS", CaptureLogs: true);
}

/// <summary>
/// The POSIX shell body every fleet task runs, whatever the scheduler: it runs the command in its
/// positional parameters ("$@": the harness and its run arguments, never re-parsed by the shell)
/// with <c>--out results/task-N.json</c>, then writes <c>status/task-N.json</c> with the exit code,
/// node, GPUs and times, atomically, and exits with the harness's exit code.
/// </summary>
public static class TaskScript
{
    /// <summary>The body; <paramref name="resultsRoot"/> is a literal path, quoted here.</summary>
    public static string Body(TaskEnvironment env, string resultsRoot)
    {
        string idx = env.IndexVariable;
        var sb = new StringBuilder();
        sb.Append("# One fleet task: run the harness, keep its result under the task's number, record how it ended.\n");
        sb.Append($"task=${{{idx}:-}}\n");
        sb.Append("case $task in\n");
        sb.Append($"  ''|*[!0-9]*) echo \"harness fleet task: {idx} does not hold a task number; this script runs as one task of an array or indexed job.\" >&2; exit 2 ;;\n");
        sb.Append("esac\n");
        sb.Append($"root={ShellQuote.Word(resultsRoot)}\n");
        sb.Append($"mkdir -p \"$root/{FleetLayout.ResultsFolder}\" \"$root/{FleetLayout.StatusFolder}\" \"$root/{FleetLayout.LogsFolder}\"\n");
        sb.Append("# Only characters that need no escaping in JSON reach the status file.\n");
        sb.Append("clean() { printf '%s' \"$1\" | tr -cd 'A-Za-z0-9._,:@+=/-'; }\n");
        sb.Append("# SIGTERM (time limit, scancel) reaches the harness too, which writes its partial result; the trap keeps\n");
        sb.Append("# this script alive until the harness has ended, so that the exit record is still written.\n");
        sb.Append("trap 'terminated=1' TERM INT\n");
        sb.Append("started=$(date -u +%Y-%m-%dT%H:%M:%SZ)\n");
        sb.Append($"result=\"$root/{FleetLayout.ResultsFolder}/task-$task.json\"\n");
        if (env.CaptureLogs)
        {
            sb.Append($"out=\"$root/{FleetLayout.LogsFolder}/task-$task.out\"\n");
            sb.Append($"err=\"$root/{FleetLayout.LogsFolder}/task-$task.err\"\n");
            sb.Append("\"$@\" --out \"$result\" >\"$out\" 2>\"$err\"\n");
            sb.Append("rc=$?\n");
            sb.Append("cat \"$out\"\n");
            sb.Append("cat \"$err\" >&2\n");
        }
        else
        {
            sb.Append("\"$@\" --out \"$result\"\n");
            sb.Append("rc=$?\n");
        }

        sb.Append("ended=$(date -u +%Y-%m-%dT%H:%M:%SZ)\n");
        sb.Append("host=$(clean \"$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname 2>/dev/null)\")\n");
        sb.Append($"node=$(clean \"${{{env.NodeVariable}:-}}\")\n");
        sb.Append("[ -n \"$node\" ] || node=$host\n");
        sb.Append("gpus=$(clean \"${SLURM_JOB_GPUS:-${CUDA_VISIBLE_DEVICES:-${NVIDIA_VISIBLE_DEVICES:-}}}\")\n");
        sb.Append($"job=$(clean \"${{{env.JobIdVariable}:-}}\")\n");
        sb.Append($"tasks=$(printf '%s' \"${{{env.TaskCountVariable}:-}}\" | tr -cd '0-9')\n");
        sb.Append("[ -n \"$tasks\" ] || tasks=0\n");
        sb.Append($"status=\"$root/{FleetLayout.StatusFolder}/task-$task.json\"\n");
        sb.Append("printf '{\"schema_version\": 1, \"task\": %s, \"tasks\": %s, \"exit_code\": %s, \"node\": \"%s\", \"hostname\": \"%s\", \"gpus\": \"%s\", \"job_id\": \"%s\", \"started_utc\": \"%s\", \"ended_utc\": \"%s\"}\\n' \\\n");
        sb.Append("  \"$task\" \"$tasks\" \"$rc\" \"$node\" \"$host\" \"$gpus\" \"$job\" \"$started\" \"$ended\" >\"$status.tmp.$$\" && mv -f \"$status.tmp.$$\" \"$status\"\n");
        sb.Append("exit $rc\n");
        return sb.ToString();
    }
}
