namespace Harness.Fleet;

/// <summary>
/// The command every fleet task runs: the harness (a program and its leading arguments, e.g.
/// <c>dotnet /opt/harness/harness.dll</c>), <c>run</c>, and the user's run arguments. The task script
/// adds <c>--out</c> itself, so each task writes its own file.
/// </summary>
public sealed record FleetCommandLine
{
    public FleetCommandLine(IReadOnlyList<string> harness, IReadOnlyList<string> runArguments)
    {
        if (harness.Count == 0 || harness.Any(string.IsNullOrWhiteSpace))
        {
            throw HarnessException.BadInput("The harness command is empty; give e.g. --harness-command \"dotnet /opt/harness/harness.dll\".");
        }

        Harness = harness;
        RunArguments = Normalize(runArguments);
    }

    public IReadOnlyList<string> Harness { get; }

    /// <summary>The arguments after <c>harness run</c>, starting with the workload.</summary>
    public IReadOnlyList<string> RunArguments { get; }

    /// <summary>Everything the task runs, as a list (never joined into a shell string).</summary>
    public IReadOnlyList<string> Argv => [.. Harness, "run", .. RunArguments];

    /// <summary>Splits a --harness-command value on whitespace; no shell quoting is interpreted.</summary>
    public static IReadOnlyList<string> SplitHarnessCommand(string text) =>
        text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static List<string> Normalize(IReadOnlyList<string> args)
    {
        var list = args.ToList();
        if (list.Count > 0 && list[0] == "run")
        {
            list.RemoveAt(0);
        }

        if (list.Count == 0 || list[0].StartsWith('-'))
        {
            throw HarnessException.BadInput("Give the run arguments after '--', starting with the workload, e.g. -- minilm --duration 60s.");
        }

        string? output = list.FirstOrDefault(a => a is "--out" or "-o" || a.StartsWith("--out=", StringComparison.Ordinal) || a.StartsWith("-o=", StringComparison.Ordinal));
        if (output is not null)
        {
            throw HarnessException.BadInput($"Remove '{output}' from the run arguments: each fleet task writes its own result file (results/task-N.json).");
        }

        if (list.Any(a => a.Contains('\0', StringComparison.Ordinal)))
        {
            throw HarnessException.BadInput("A run argument contains a NUL character.");
        }

        return list;
    }
}
