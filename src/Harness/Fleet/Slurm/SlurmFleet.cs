using System.Globalization;
using System.Text;
using Harness.Formatting;

namespace Harness.Fleet.Slurm;

/// <summary>Submitting a fleet to Slurm and describing where its tasks stand.</summary>
public static class SlurmFleet
{
    /// <summary>
    /// Writes the script into the results folder, submits it, and records the job in fleet.json.
    /// Checks everything it can before the first file is written: the spec, that sbatch exists, and
    /// that the folder does not already hold another fleet run (whose results would mix with these).
    /// </summary>
    public static FleetManifest Submit(SlurmJobSpec spec, IProcessRunner? runner = null)
    {
        string script = SbatchScript.Render(spec);
        var client = new SlurmClient(runner);
        client.Require("sbatch", "use --dry-run to print the script instead");
        var layout = new FleetLayout(spec.ResultsDir);
        if (File.Exists(layout.ManifestPath) || (Directory.Exists(layout.ResultsDir) && Directory.EnumerateFileSystemEntries(layout.ResultsDir).Any()))
        {
            throw HarnessException.BadInput($"'{spec.ResultsDir}' already holds a fleet run; give a new --results folder so that results do not mix.");
        }

        bool existed = Directory.Exists(layout.Root);
        string jobId;
        try
        {
            layout.Create();
            Results.AtomicFile.WriteAllText(layout.ScriptPath, script);
            jobId = client.Submit(layout.ScriptPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or HarnessException)
        {
            // Nothing was submitted: leave the folder as it was.
            Undo(layout, existed);
            throw e as HarnessException ?? HarnessException.BadInput($"Cannot write to the results folder '{spec.ResultsDir}': {e.Message}", e);
        }

        var manifest = new FleetManifest
        {
            Scheduler = "slurm",
            JobId = jobId,
            JobName = spec.JobName,
            Tasks = spec.Tasks,
            Per = spec.Per,
            Nodes = spec.Nodes,
            GpusPerNode = spec.GpusPerNode,
            Partition = spec.Partition,
            TimeLimit = spec.TimeLimit,
            SubmittedUtc = DateTime.UtcNow,
            HarnessCommand = [.. spec.Command.Harness],
            RunArguments = [.. spec.Command.RunArguments],
        };
        manifest.Write(layout.ManifestPath);
        return manifest;
    }

    private static void Undo(FleetLayout layout, bool existed)
    {
        try
        {
            if (!existed)
            {
                Directory.Delete(layout.Root, recursive: true);
                return;
            }

            File.Delete(layout.ScriptPath);
            foreach (string dir in new[] { layout.ResultsDir, layout.StatusDir, layout.LogsDir })
            {
                if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
                {
                    Directory.Delete(dir);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the submission error is what the user must see.
        }
    }

    /// <summary>A table of the job's tasks as Slurm sees them, with the exit records already written.</summary>
    public static string RenderStatus(string jobId, IReadOnlyList<SchedulerTaskState> states, FleetLayout? layout, int? tasks)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        var all = new SortedSet<int>(states.Select(s => s.Task));
        if (tasks is { } n)
        {
            all.UnionWith(Enumerable.Range(0, n));
        }

        var byTask = states.ToDictionary(s => s.Task);
        var counts = states.GroupBy(s => s.State).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key.ToLowerInvariant()}");
        sb.Append(c, $"### Slurm job {jobId}: {(states.Count == 0 ? "unknown to squeue and sacct (finished long ago, or never submitted)" : string.Join(", ", counts))}\n\n");
        var table = new MarkdownTable(MarkdownColumn.Right("task"), MarkdownColumn.Left("state"), MarkdownColumn.Left("node"),
            MarkdownColumn.Left("reason"), MarkdownColumn.Right("exit code"), MarkdownColumn.Left("result"));
        foreach (int t in all)
        {
            byTask.TryGetValue(t, out SchedulerTaskState? s);
            TaskExitRecord? exit = layout is null ? null : TaskExitRecord.TryRead(layout.StatusPath(t), out _);
            bool result = layout is not null && File.Exists(layout.ResultPath(t));
            table.Row(t.ToString(c), s?.State ?? "-", s?.Node ?? exit?.Node, s?.Reason, exit?.ExitCode.ToString(c),
                layout is null ? "" : result ? "yes" : "no");
        }

        table.AppendTo(sb);

        return sb.ToString();
    }
}
