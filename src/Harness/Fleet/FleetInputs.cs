using System.Text;
using Harness.Results;

namespace Harness.Fleet;

/// <summary>
/// What a fleet merge reads from a results folder: the manifest (fleet.json), the task-exit records
/// (status/task-N.json), the result files (results/*.json, else every *.json but the fleet's own), and
/// the tail of a task's log when it ended without a result.
/// </summary>
internal sealed class FleetInputs
{
    public required FleetLayout Layout { get; init; }

    public FleetManifest? Manifest { get; init; }

    /// <summary>Each task's exit record, or why it could not be read.</summary>
    public required Dictionary<int, (TaskExitRecord? Record, string? Problem)> Exits { get; init; }

    public required List<LoadedFile> Files { get; init; }

    public static FleetInputs Read(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw HarnessException.BadInput($"The results folder '{folder}' does not exist.");
        }

        var layout = new FleetLayout(folder);
        return new FleetInputs
        {
            Layout = layout,
            Manifest = FleetManifest.TryRead(layout),
            Exits = ReadExitRecords(layout),
            Files = FindResultFiles(layout).Select(f => LoadedFile.Load(f, folder)).ToList(),
        };
    }

    /// <summary>The last lines of the task's stderr, else its stdout; null when neither has any.</summary>
    public List<string>? LogTail(int? task, int lines)
    {
        if (task is not { } t || lines <= 0)
        {
            return null;
        }

        foreach (string path in new[] { Layout.StderrPath(t), Layout.StdoutPath(t) })
        {
            List<string> tail = Tail(path, lines);
            if (tail.Count > 0)
            {
                return tail;
            }
        }

        return null;
    }

    private static Dictionary<int, (TaskExitRecord? Record, string? Problem)> ReadExitRecords(FleetLayout layout)
    {
        var records = new Dictionary<int, (TaskExitRecord?, string?)>();
        if (!Directory.Exists(layout.StatusDir))
        {
            return records;
        }

        foreach (string path in Directory.GetFiles(layout.StatusDir, "task-*.json"))
        {
            if (FleetLayout.TaskOf(path) is { } task)
            {
                TaskExitRecord? record = TaskExitRecord.TryRead(path, out string? problem);
                records[task] = (record, problem);
            }
        }

        return records;
    }

    /// <summary>results/*.json in a fleet folder; else every *.json under the folder but the fleet's own files.</summary>
    private static IEnumerable<string> FindResultFiles(FleetLayout layout)
    {
        IEnumerable<string> files = Directory.Exists(layout.ResultsDir)
            ? ResultReader.FindUnder(layout.ResultsDir, recursive: false)
            : ResultReader.FindUnder(layout.Root).Where(f => !IsUnder(f, layout.StatusDir) && !IsUnder(f, layout.LogsDir));
        return files
            .Where(f => !Path.GetFileName(f).StartsWith("fleet", StringComparison.OrdinalIgnoreCase))
            .OrderBy(f => FleetLayout.TaskOf(f) ?? int.MaxValue)
            .ThenBy(f => f, StringComparer.Ordinal);
    }

    private static bool IsUnder(string file, string dir) =>
        Path.GetFullPath(file).StartsWith(Path.GetFullPath(dir) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static List<string> Tail(string path, int lines)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            const int window = 64 * 1024;
            fs.Seek(Math.Max(0, fs.Length - window), SeekOrigin.Begin);
            using var reader = new StreamReader(fs, Encoding.UTF8);
            return reader.ReadToEnd()
                .Split('\n')
                .Select(l => l.TrimEnd('\r'))
                .Where(l => l.Trim().Length > 0)
                .TakeLast(lines)
                .Select(l => l.Length > 300 ? l[..300] + "..." : l)
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}

/// <summary>One result file as read: the typed document, or why it cannot be merged.</summary>
internal sealed class LoadedFile
{
    public required string Path { get; init; }

    public required string RelativePath { get; init; }

    public int? Task { get; init; }

    public ResultDocument? Document { get; init; }

    /// <summary>The suite the document ran, as a comparable string (<see cref="FleetSuites.KeyOf"/>).</summary>
    public string? SuiteKey { get; init; }

    public string? Refusal { get; set; }

    public static LoadedFile Load(string path, string root)
    {
        string relative = System.IO.Path.GetRelativePath(root, path);
        int? task = FleetLayout.TaskOf(path);
        if (!ResultReader.TryRead(path, out LoadedResult? result, out string? problem))
        {
            return new LoadedFile { Path = path, RelativePath = relative, Task = task, Refusal = $"{relative} {problem}" };
        }

        ResultDocument doc = result!.Document;
        return new LoadedFile
        {
            Path = path,
            RelativePath = relative,
            Task = task,
            Document = doc,
            SuiteKey = FleetSuites.KeyOf(FleetSuites.SuiteOf(doc)),
        };
    }
}
