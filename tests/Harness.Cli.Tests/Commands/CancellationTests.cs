using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Harness.Results;

namespace Harness.Cli.Tests.Commands;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM on a real harness process: the run stops and the result is still
/// written, flagged cancelled. The signal goes once the process says it is measuring (its first
/// progress line), never after a fixed delay: on a loaded machine a fixed delay can fall before the
/// process has even installed its handlers.
/// </summary>
public partial class CancellationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-cli-sigint-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [DeliverableSignalFact(2)]
    public Task Sigint_writes_a_cancelled_result_and_exits_1() => Interrupt(2);

    [DeliverableSignalFact(15)]
    public Task Sigterm_writes_a_cancelled_result_and_exits_1() => Interrupt(15);

    private async Task Interrupt(int signal)
    {
        string path = Path.Combine(_dir, $"cancelled-{signal}.json");
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

        var error = new StringBuilder();
        var measuring = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using Process p = Process.Start(psi)!;
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (error)
            {
                error.AppendLine(e.Data);
            }

            if (e.Data.Contains("] measuring", StringComparison.Ordinal))
            {
                measuring.TrySetResult();
            }
        };
        p.BeginErrorReadLine();
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        try
        {
            // Loading the model takes a second on a quiet machine; the bound is only for a broken build.
            Task first = await Task.WhenAny(measuring.Task, p.WaitForExitAsync(), Task.Delay(TimeSpan.FromMinutes(3)));
            Assert.True(first == measuring.Task, $"the run never reported measuring (exited: {p.HasExited})\n{Text(error)}");
            Assert.Equal(0, Kill(p.Id, signal));
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await p.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
            }
        }

        string output = await stdout;
        Assert.True(p.ExitCode == 1, $"exit {p.ExitCode}\n{output}\n{Text(error)}");
        ResultDocument doc = ResultReader.ReadDocument(path);
        Assert.True(doc.Cancelled);
        Assert.False(doc.Valid);
        Assert.Contains("cancelled", Text(error), StringComparison.Ordinal);
    }

    private static string Text(StringBuilder sb)
    {
        lock (sb)
        {
            return sb.ToString();
        }
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}

/// <summary>
/// Runs on Linux when the signal can reach a child: a non-interactive shell starts background jobs
/// with SIGINT ignored, children inherit that, and .NET (as every well-behaved program) keeps it ignored.
/// </summary>
public sealed class DeliverableSignalFactAttribute : FactAttribute
{
    public DeliverableSignalFactAttribute(int signal)
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "signals are delivered with POSIX kill, and the ignored-signal mask is read from /proc: Linux only";
            return;
        }

        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        if (line is not null && (ulong.Parse(line[7..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture) & (1UL << (signal - 1))) != 0)
        {
            Skip = $"signal {signal} is ignored by this test process (inherited, e.g. from a background job of a non-interactive shell), so its children ignore it too";
        }
    }
}
