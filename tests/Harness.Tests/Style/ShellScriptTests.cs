using Harness.Fleet;
using Harness.Testing;
using Harness.Tests.Fakes;

namespace Harness.Tests.Style;

/// <summary>
/// The repository's shell scripts parse (<c>bash -n</c>) and have no error shellcheck can see: some run once, in a lent GPU
/// session of 15 minutes (scripts/device-decoders.sh, device-stage.sh), where a typo costs the whole session.
/// </summary>
public sealed class ShellScriptTests
{
    public static TheoryData<string> Scripts()
    {
        var data = new TheoryData<string>();
        foreach (string folder in new[] { "scripts", "bench", ".ci" })
        {
            foreach (string file in Directory.EnumerateFiles(Path.Combine(Repository.Root, folder), "*", SearchOption.AllDirectories))
            {
                string relative = Path.GetRelativePath(Repository.Root, file).Replace('\\', '/');
                bool built = relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal)
                    || relative.Contains("/node_modules/", StringComparison.Ordinal);
                if (!built && (file.EndsWith(".sh", StringComparison.Ordinal) || relative == ".ci/run"))
                {
                    data.Add(relative);
                }
            }
        }

        data.Add("run.sh");
        return data;
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public void Script_parses(string script)
    {
        ProcessResult r = Run(script, "bash", "-n");
        Assert.True(r.ExitCode == 0, $"bash -n {script}: {r.Stderr}");
    }

    [ShellcheckTheory]
    [MemberData(nameof(Scripts))]
    public void Script_has_no_shellcheck_error(string script)
    {
        ProcessResult r = Run(script, "shellcheck", "--severity=error", "--shell=bash");
        Assert.True(r.ExitCode == 0, $"shellcheck {script}:\n{r.Stdout}{r.Stderr}");
    }

    /// <summary>The checker, its options, then the script's full path.</summary>
    private static ProcessResult Run(string script, string program, params string[] options) =>
        SystemProcessRunner.Instance.Run(program, [.. options, Path.Combine(Repository.Root, script)], TimeSpan.FromSeconds(60));
}

/// <summary>Skipped, saying how to get it, where shellcheck is not installed (scripts/test-deps.sh installs it for CI).</summary>
public sealed class ShellcheckTheoryAttribute : TheoryAttribute
{
    public ShellcheckTheoryAttribute()
    {
        if (RequiresBinariesFactAttribute.Find("shellcheck") is null)
        {
            Skip = "needs shellcheck on the PATH (Debian package shellcheck; sudo ./run.sh test installs it)";
        }
    }
}
