using System.Globalization;
using System.Text.RegularExpressions;

namespace Harness.Fleet;

/// <summary>
/// Where a fleet run keeps its files: the one place that names them, for the task script that
/// writes them, the Slurm and Kubernetes generators, and the merge that reads them back.
/// <code>
/// DIR/fleet.json             the submission (job id, task count, arguments)
/// DIR/fleet.sbatch           the script that was submitted
/// DIR/results/task-N.json    each task's result file
/// DIR/status/task-N.json     each task's exit record (exit code, node, GPUs, times)
/// DIR/logs/task-N.out|.err   each task's stdout and stderr
/// DIR/fleet-summary.json     the merge
/// </code>
/// </summary>
public sealed partial class FleetLayout
{
    public const string ManifestFileName = "fleet.json";
    public const string ScriptFileName = "fleet.sbatch";
    public const string SummaryFileName = "fleet-summary.json";
    public const string ResultsFolder = "results";
    public const string StatusFolder = "status";
    public const string LogsFolder = "logs";

    public FleetLayout(string root)
    {
        if (string.IsNullOrWhiteSpace(root))
        {
            throw HarnessException.BadInput("The results folder is empty.");
        }

        Root = root;
    }

    public string Root { get; }

    public string ManifestPath => Path.Combine(Root, ManifestFileName);

    public string ScriptPath => Path.Combine(Root, ScriptFileName);

    public string SummaryPath => Path.Combine(Root, SummaryFileName);

    public string ResultsDir => Path.Combine(Root, ResultsFolder);

    public string StatusDir => Path.Combine(Root, StatusFolder);

    public string LogsDir => Path.Combine(Root, LogsFolder);

    public static string TaskFileName(int task, string extension = ".json") => string.Create(CultureInfo.InvariantCulture, $"task-{task}{extension}");

    public string ResultPath(int task) => Path.Combine(ResultsDir, TaskFileName(task));

    public string StatusPath(int task) => Path.Combine(StatusDir, TaskFileName(task));

    public string StdoutPath(int task) => Path.Combine(LogsDir, TaskFileName(task, ".out"));

    public string StderrPath(int task) => Path.Combine(LogsDir, TaskFileName(task, ".err"));

    /// <summary>Creates the folders the tasks write into (Slurm does not create an --output folder).</summary>
    public void Create()
    {
        Directory.CreateDirectory(ResultsDir);
        Directory.CreateDirectory(StatusDir);
        Directory.CreateDirectory(LogsDir);
    }

    /// <summary>The task index in a file name such as task-12.json; null for any other name.</summary>
    public static int? TaskOf(string path)
    {
        Match m = TaskFilePattern().Match(Path.GetFileName(path));
        return m.Success && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int task) ? task : null;
    }

    [GeneratedRegex(@"^task-(\d{1,9})\.json$")]
    private static partial Regex TaskFilePattern();
}
