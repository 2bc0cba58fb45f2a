using Harness.Fleet;

namespace Harness.Cli.Tests;

/// <summary>Runs the CLI in-process and captures what it prints.</summary>
public static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args) => RunWith(null, args);

    /// <summary>With <paramref name="processRunner"/> starting Slurm's commands (a fake, or one with SLURM_CONF set).</summary>
    public static (int Code, string Out, string Err) RunWith(IProcessRunner? processRunner, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = HarnessCli.Invoke(args, output, error, processRunner);
        return (code, output.ToString(), error.ToString());
    }
}
