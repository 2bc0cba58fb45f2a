using System.Diagnostics;
using System.Runtime.InteropServices;
using Harness.Results;

namespace Harness.Cli.Tests.Commands;

/// <summary>Ctrl-C (SIGINT) on a real harness process: the run stops and the result is still written, flagged cancelled.</summary>
public partial class CancellationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-cli-sigint-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Sigint_writes_a_cancelled_result_and_exits_1()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // SIGINT delivery below is POSIX-only; CI runs on Linux.
        }

        string path = Path.Combine(_dir, "cancelled.json");
        string dll = Path.Combine(AppContext.BaseDirectory, "harness.dll");
        var psi = new ProcessStartInfo(Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? Environment.ProcessPath : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in new[] { "exec", dll, "run", "minilm", "--duration", "5m", "--warmup", "0s", "--out", path })
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        // Give it time to load the model and start measuring; SIGINT at any phase must still write the file.
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal(0, Kill(p.Id, 2));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(timeout.Token);
        string output = await stdout;
        string error = await stderr;

        Assert.True(p.ExitCode == 1, $"exit {p.ExitCode}\n{output}\n{error}");
        ResultDocument doc = ResultJson.Read(path);
        Assert.True(doc.Cancelled);
        Assert.False(doc.Valid);
        Assert.Contains("cancelled", error, StringComparison.Ordinal);
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
