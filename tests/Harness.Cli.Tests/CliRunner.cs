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

    /// <summary>The repository root (where Harness.sln is), for the committed result files.</summary>
    public static string RepoRoot => Harness.Testing.Repository.Root;

    /// <summary>A decode-proxy run measured on an H200 (results/nvidia-h200), committed with the repository.</summary>
    public static string H200Run(string name = "llama-8b_bs8") => Path.Combine(RepoRoot, "results", "nvidia-h200", $"decode-proxy_{name}.json");
}
