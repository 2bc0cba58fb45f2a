using System.Diagnostics;

namespace Harness.Fleet;

/// <summary>What an external program printed and how it exited.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The first line of stderr (or stdout), for a one-sentence error.</summary>
    public string FirstErrorLine =>
        (Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault()
         ?? Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault()
         ?? $"exit code {ExitCode}").TrimEnd('.');
}

/// <summary>
/// Starts scheduler programs (sbatch, squeue, sacct). Arguments always travel as a list, never as a
/// shell string, so nothing a user typed is interpreted by a shell. Behind an interface so that
/// tests can answer in Slurm's place.
/// </summary>
public interface IProcessRunner
{
    /// <summary>The full path of <paramref name="program"/> on PATH, or null when it is not installed.</summary>
    string? Locate(string program);

    ProcessResult Run(string program, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default);
}

/// <summary>The real thing, on <see cref="Process"/>.</summary>
public sealed class SystemProcessRunner : IProcessRunner
{
    private readonly IReadOnlyDictionary<string, string> _environment;

    /// <param name="environment">Variables set for the started programs on top of this process's (e.g. SLURM_CONF for a test cluster).</param>
    public SystemProcessRunner(IReadOnlyDictionary<string, string>? environment = null) =>
        _environment = environment ?? new Dictionary<string, string>();

    public static SystemProcessRunner Instance { get; } = new();

    public string? Locate(string program)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(program) ? Path.GetFullPath(program) : null;
        }

        string? path = Environment.GetEnvironmentVariable("PATH");
        foreach (string dir in (path ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public ProcessResult Run(string program, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        foreach ((string name, string value) in _environment)
        {
            start.Environment[name] = value;
        }

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw HarnessException.BadInput($"Cannot start {program}: {e.Message}.", e);
        }

        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        Task<string> stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using (cancellationToken.Register(() => Kill(process)))
        {
            if (!process.WaitForExit(timeout))
            {
                Kill(process);
                process.WaitForExit();
                throw new HarnessException($"{Path.GetFileName(program)} did not answer within {timeout.TotalSeconds:0} s.", ExitCodes.Invalid);
            }

            process.WaitForExit();
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new ProcessResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
