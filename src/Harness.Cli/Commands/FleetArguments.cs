using System.CommandLine;
using Harness.Fleet;

namespace Harness.Cli.Commands;

/// <summary>What the fleet commands (slurm submit, k8s manifest) share: the run arguments after '--' and the harness command.</summary>
internal static class FleetArguments
{
    public static Argument<string[]> RunArguments() => new("run-arguments")
    {
        Description = "After '--': the arguments of 'harness run' each task runs, starting with the workload (e.g. -- minilm --duration 60s).",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static Option<string?> HarnessCommand(string where) => new("--harness-command")
    {
        Description = $"How a task starts the harness {where}, split on spaces (e.g. \"dotnet /opt/harness/harness.dll\").",
    };

    /// <summary>
    /// The task's command line, with the run arguments checked by the real 'run' parser first, so that
    /// a typo fails here and not on every node.
    /// </summary>
    public static FleetCommandLine Build(Command run, IReadOnlyList<string> harness, string[]? runArguments)
    {
        var line = new FleetCommandLine(harness, runArguments ?? []);
        ParseResult parse = run.Parse(line.RunArguments.ToArray());
        if (parse.Errors.Count > 0)
        {
            throw HarnessException.BadInput($"The run arguments do not parse: {parse.Errors[0].Message.TrimEnd('.')}.");
        }

        return line;
    }

    /// <summary>This harness, as the same program would be started on a node that shares its path: the apphost, or dotnet and harness.dll.</summary>
    public static IReadOnlyList<string> Self()
    {
        string dll = typeof(HarnessCli).Assembly.Location;
        string? process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process) == "harness")
        {
            return [process];
        }

        string dotnet = process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet" ? process : "dotnet";
        return [dotnet, dll];
    }
}
