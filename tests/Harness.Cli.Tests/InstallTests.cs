using System.Diagnostics;
using System.Text.Json;
using Harness.Testing;

namespace Harness.Cli.Tests;

/// <summary>
/// The shipped forms of the harness, end to end: <c>./run.sh install --tool-path DIR</c> (the .NET tool) and
/// the tarball of <c>scripts/publish.sh</c> (self-contained), each running <c>harness hw</c> and a short
/// <c>run resnet18</c>; the tarball with no <c>dotnet</c> on PATH and, as root, with the .NET install hidden.
/// One class, so the two never build at once.
/// </summary>
public sealed class InstallTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(8);
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-install-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_installed_tool_runs_hw_and_resnet18()
    {
        string tools = Path.Combine(_dir, "tools");
        // The compat the suite already prepared (./run.sh test), so the install reuses it and the user cache stays untouched.
        var env = new Dictionary<string, string?>
        {
            ["HARNESS_TORCH_COMPAT_DIR"] = Path.Combine(Repository.Root, ".tools", "torch-compat"),
            ["HARNESS_TORCH_COMPAT_ACTIVE"] = null,
        };

        (int code, _, string output) = Run(["./run.sh", "install", "--tool-path", tools], env);
        Assert.True(code == 0, output);
        string harness = Path.Combine(tools, "harness");
        Assert.True(File.Exists(harness), output);

        AssertHwAndResnet18(harness, env);
        (int doctorCode, string doctor, string doctorErr) = Run([harness, "doctor"], env);
        Assert.True(doctorCode is 0 or 1, doctorErr);
        Assert.Contains($"ok   harness      .NET tool in {tools}", doctor, StringComparison.Ordinal);
        Assert.Contains($"ok   models       ResNet-18 and MiniLM in {tools}", doctor, StringComparison.Ordinal);
    }

    [Fact]
    public void The_self_contained_tarball_runs_without_dotnet()
    {
        (int code, string output, string log) = Run(["scripts/publish.sh", "--no-torch", "--out", Path.Combine(_dir, "out")], new());
        Assert.True(code == 0, log);
        string tarball = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim();
        Assert.EndsWith("-linux-x64-notorch.tar.gz", tarball, StringComparison.Ordinal);

        string unpacked = Path.Combine(_dir, "unpacked");
        Directory.CreateDirectory(unpacked);
        (int tarCode, _, string tarErr) = Run(["tar", "-C", unpacked, "-xzf", tarball], new());
        Assert.True(tarCode == 0, tarErr);
        string harness = Path.Combine(Directory.GetDirectories(unpacked).Single(), "harness");

        // PATH as it is, less dotnet; DOTNET_ROOT gone.
        string path = PathWithoutDotnet();
        var env = new Dictionary<string, string?> { ["PATH"] = path, ["DOTNET_ROOT"] = null, ["HARNESS_TORCH_COMPAT_ACTIVE"] = null };
        (int which, _, _) = Run(["sh", "-c", "command -v dotnet"], env);
        Assert.NotEqual(0, which);

        AssertHwAndResnet18(harness, env, HideDotnet());
    }

    /// <summary>PATH with each folder that holds a dotnet replaced by a folder of links to everything else in it.</summary>
    private string PathWithoutDotnet()
    {
        var folders = new List<string>();
        foreach (string d in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!File.Exists(Path.Combine(d, "dotnet")))
            {
                folders.Add(d);
                continue;
            }

            string shadow = Path.Combine(_dir, "path-" + folders.Count);
            Directory.CreateDirectory(shadow);
            foreach (string entry in Directory.EnumerateFileSystemEntries(d).Where(e => Path.GetFileName(e) != "dotnet"))
            {
                File.CreateSymbolicLink(Path.Combine(shadow, Path.GetFileName(entry)), entry);
            }

            folders.Add(shadow);
        }

        return string.Join(':', folders);
    }

    /// <summary>As root, where mount namespaces work: a wrapper that mounts an empty tmpfs over the .NET install first.</summary>
    private string[] HideDotnet()
    {
        string? dotnet = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(d => Path.Combine(d, "dotnet")).FirstOrDefault(File.Exists);
        if (Environment.UserName != "root" || dotnet is null)
        {
            return [];
        }

        string root = Path.GetDirectoryName(new FileInfo(dotnet).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dotnet)!;
        string[] wrapper = ["unshare", "--mount", "sh", "-c", $"mount -t tmpfs none '{root}' && exec \"$@\"", "hide-dotnet"];
        (int code, _, _) = Run([.. wrapper, "true"], new());
        return code == 0 ? wrapper : [];
    }

    private void AssertHwAndResnet18(string harness, Dictionary<string, string?> env, string[]? wrapper = null)
    {
        string[] prefix = wrapper ?? [];
        (int hwCode, string hw, string hwErr) = Run([.. prefix, harness, "hw"], env);
        Assert.True(hwCode == 0, hwErr);
        using (JsonDocument doc = JsonDocument.Parse(hw))
        {
            Assert.True(doc.RootElement.GetProperty("cpu").GetProperty("logical_cores").GetInt32() >= 1);
        }

        string results = Path.Combine(_dir, "results-" + Path.GetFileName(Path.GetDirectoryName(harness)));
        (int runCode, _, string runErr) = Run(
            [.. prefix, harness, "run", "resnet18", "--scenario", "offline", "-d", "0s", "--min-requests", "1", "--warmup", "0s",
                "--threads", "1", "--results-dir", results],
            env);
        // 1 is a measured run that a busy machine made INVALID (quiet_host); the file must be there either way.
        Assert.True(runCode is 0 or 1, runErr);
        Assert.Single(Directory.GetFiles(results, "resnet18_onnx-cpu_offline_*.json", SearchOption.AllDirectories));
    }

    private static (int Code, string Out, string Err) Run(string[] argv, Dictionary<string, string?> env)
    {
        // A repository script by its full path: a relative one is not looked up from WorkingDirectory.
        string file = argv[0].Contains('/', StringComparison.Ordinal) ? Path.Combine(Repository.Root, argv[0]) : argv[0];
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Repository.Root,
        };
        foreach (string a in argv.Skip(1))
        {
            start.ArgumentList.Add(a);
        }

        foreach ((string name, string? value) in env)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        using Process p = Process.Start(start)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(Patience))
        {
            p.Kill(entireProcessTree: true);
            return (-1, output, $"{string.Join(' ', argv)}: still running after {Patience}\n{output}\n{err.Result}");
        }

        return (p.ExitCode, output, output + err.Result);
    }
}
