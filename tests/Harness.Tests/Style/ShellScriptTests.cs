using System.Diagnostics;
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
        (int code, string output) = Run("bash", "-n", script);
        Assert.True(code == 0, $"bash -n {script}: {output}");
    }

    [ShellcheckTheory]
    [MemberData(nameof(Scripts))]
    public void Script_has_no_shellcheck_error(string script)
    {
        (int code, string output) = Run("shellcheck", "--severity=error", "--shell=bash", script);
        Assert.True(code == 0, $"shellcheck {script}:\n{output}");
    }

    private static (int Code, string Output) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = Repository.Root, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        using Process p = Process.Start(start)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
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
