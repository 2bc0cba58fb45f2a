using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Harness.Backends;
using Harness.Cli.Commands;
using Harness.Fleet;
using Harness.LlamaCpp;
using Harness.Onnx;
using Harness.OpenAI;
using Harness.Results;
using Harness.Torch;

namespace Harness.Cli;

/// <summary>
/// The <c>harness</c> command tree. Parse errors and <see cref="HarnessException"/> become one
/// sentence on stderr and exit code 2; nothing else is decided here.
/// </summary>
public static partial class HarnessCli
{
    internal static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Print stack traces and native details on errors.",
        Recursive = true,
    };

    /// <summary>The backends this build knows; each native runtime is its own assembly.</summary>
    /// <param name="log">Where workloads say what they do besides measuring (a decoder graph generated...).</param>
    public static BackendRegistry CreateRegistry(TextWriter? log = null) => new(
    [
        new OnnxBackendProvider(log),
        new TorchBackendProvider(),
        new OpenAiBackendProvider(),
        new LlamaCppBackendProvider(),
    ]);

    /// <param name="processRunner">Starts Slurm's commands; tests pass a fake.</param>
    public static RootCommand BuildRoot(TextWriter output, TextWriter error, IProcessRunner? processRunner = null, CancellationToken interrupt = default)
    {
        var registry = new Lazy<BackendRegistry>(() => CreateRegistry(error));
        Command run = RunCommand.Create(registry, output, error, interrupt);
        var root = new RootCommand("Harness: benchmarks AI inference on CPUs and NVIDIA GPUs and writes schema-versioned result files.")
        {
            Verbose,
            run,
            ListCommand.Create(registry, output),
            HwCommand.Create(registry, output),
            DoctorCommand.Create(registry, output),
            CompareCommand.Create(output),
            HistoryCommand.Create(output),
            AbCommand.Create(registry, output, error),
            DuetSideCommand.Create(registry, error),
            ReportCommand.Create(output),
            CostCommand.Create(output),
            ProjectCommand.Create(output),
            PlanCommand.Create(output),
            MergeCommand.Create(output, error),
            SlurmCommand.Create(run, output, error, interrupt, processRunner),
            K8sCommand.Create(run, output),
            AgentsCommand.CreateGroup(registry, output, error, interrupt),
            ServeCommand.Create(registry, output, error, interrupt),
            ExportCommand.Create(output),
        };
        RegistryHelp.Install(root, registry);
        return root;
    }

    public static int Invoke(string[] args, TextWriter output, TextWriter error, IProcessRunner? processRunner = null)
    {
        // Ctrl-C and SIGTERM cancel the run; the engine stops at the next request boundary and the
        // partial result is still written. A second Ctrl-C ends the process at once.
        using var interrupt = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            if (!interrupt.IsCancellationRequested)
            {
                context.Cancel = true;
                interrupt.Cancel();
            }
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        RootCommand root = BuildRoot(output, error, processRunner, interrupt.Token);
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // Some parser messages list the allowed values one per line; keep the promise of one line.
            string message = string.Join(' ', parse.Errors[0].Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            error.WriteLine($"harness: {message} (see 'harness --help').");
            return ExitCodes.BadInput;
        }

        var config = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
            // Signals are handled above, so that the exit code stays the documented one (not 130).
            ProcessTerminationTimeout = null,
        };
        try
        {
            return parse.Invoke(config);
        }
        catch (HarnessException e)
        {
            return Fail(error, e, parse.GetValue(Verbose), e.ExitCode);
        }
        catch (Exception e)
        {
            return Fail(error, e, parse.GetValue(Verbose), ExitCodes.Invalid);
        }
    }

    private static int Fail(TextWriter error, Exception e, bool verbose, int code)
    {
        bool explained = e is HarnessException or IOException or UnauthorizedAccessException;
        string message = e switch
        {
            HarnessException => e.Message,
            // A file that could not be read or written: the cause in the system's words, and the path.
            IOException or UnauthorizedAccessException => QuotedPath().Match(e.Message) is { Success: true } m
                ? $"{ResultWriter.Cause(e)}: {m.Groups[1].Value}"
                : ResultWriter.Cause(e),
            _ => $"unexpected {e.GetType().Name}: {e.Message}",
        };
        error.WriteLine($"harness: {message}");
        if (verbose)
        {
            error.WriteLine(e.ToString());
        }
        else if (!explained)
        {
            error.WriteLine("harness: run again with --verbose for details.");
        }

        return code;
    }

    /// <summary>The path .NET quotes in its file-system messages ("... : '/x/y'", "Access to the path '/x/y' is denied.").</summary>
    [GeneratedRegex("'([^']+)'")]
    private static partial Regex QuotedPath();
}
