namespace Harness;

/// <summary>Exit codes of every harness command; scripts and CI depend on them.</summary>
public static class ExitCodes
{
    /// <summary>The command succeeded (for <c>run</c>: the result is valid).</summary>
    public const int Ok = 0;
    /// <summary>It ran, but the result is invalid or requests failed.</summary>
    public const int Invalid = 1;
    /// <summary>Bad input: unknown workload, option, file or device; nothing was measured.</summary>
    public const int BadInput = 2;
    /// <summary><c>compare</c>/<c>ab</c>: a metric regressed (significant and beyond its threshold). Same value as <see cref="Invalid"/>.</summary>
    public const int Regression = 1;
    /// <summary><c>compare</c>/<c>ab</c>: too few samples to decide; never reported as a pass.</summary>
    public const int Inconclusive = 3;
}

/// <summary>
/// The one domain exception: a sentence for the user and the exit code it maps to.
/// Everything the user can get wrong ends up here, so the CLI prints one line instead of a trace.
/// </summary>
public sealed class HarnessException : Exception
{
    public HarnessException(string message, int exitCode = ExitCodes.BadInput, Exception? inner = null)
        : base(message, inner) => ExitCode = exitCode;

    public int ExitCode { get; }

    public static HarnessException BadInput(string message, Exception? inner = null) => new(message, ExitCodes.BadInput, inner);
}
