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

    /// <summary>
    /// The lines of stderr that are messages, without the progress lines ("[workload ...] preparing
    /// 0.3 s") that a redirected run prints as each phase begins: whether one appears before an error
    /// depends on how long loading took on this machine, so a test of the message must not count it.
    /// </summary>
    public static string[] Messages(string err) =>
        err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.StartsWith('[')).ToArray();

    /// <summary>The repository root (where Harness.sln is), for the committed result files.</summary>
    public static string RepoRoot => Harness.Testing.Repository.Root;

    /// <summary>A decode-proxy run measured on an H200 (results/nvidia-h200-x1), copied into tests/fixtures/results.</summary>
    public static string H200Run(string name = "llama-8b_bs8") => Path.Combine(Harness.Testing.Repository.ResultFixtures, "nvidia-h200-x1", $"decode-proxy_{name}.json");
}
