using System.Diagnostics;
using System.Globalization;

namespace Harness.Running;

/// <summary>One side of a duet pair as a process: which harness build, its run arguments, where it runs and writes.</summary>
/// <param name="Harness">The harness to start: an executable, or dotnet and a harness.dll (each side may be another build).</param>
/// <param name="Gpu">The GPU it gets as its only visible one (CUDA_VISIBLE_DEVICES), or null.</param>
public sealed record DuetSideLaunch(
    IReadOnlyList<string> Harness, string RunArguments, string Job, int Pair, string Side, IReadOnlyList<int> Cpus, int? Gpu,
    double WindowS, string OutputPath, string SyncFolder, string LogPath)
{
    /// <summary>The command line after the program: the hidden <c>duet-side</c> command.</summary>
    public IReadOnlyList<string> Arguments()
    {
        var ci = CultureInfo.InvariantCulture;
        return [.. Harness.Skip(1), "duet-side", "--job", Job, "--pair", Pair.ToString(ci), "--side", Side, "--cpus",
            CpuAffinity.Describe(Cpus),
            "--window", WindowS.ToString("R", ci), "--sync", SyncFolder, "--out", OutputPath, .. Gpu is { } g ? ["--device",
                $"cuda:{g}"] : Array.Empty<string>(),
            "--run", RunArguments];
    }
}

/// <summary>
/// Starts the two sides of a pair as separate processes at once and waits for both; each pins itself
/// to its cores and meets the other before its measured phase (<see cref="FileRendezvous"/>). Their
/// output goes to a log file each. A side that fails ends the other.
/// </summary>
public static class DuetLauncher
{
    public static (string PathA, string PathB) RunPair(DuetSideLaunch a, DuetSideLaunch b, CancellationToken cancellationToken)
    {
        using Process pa = Start(a), pb = Start(b);
        using CancellationTokenRegistration stop = cancellationToken.Register(() =>
        {
            Kill(pa);
            Kill(pb);
        });
        Task ta = pa.WaitForExitAsync(CancellationToken.None), tb = pb.WaitForExitAsync(CancellationToken.None);
        int first = Task.WaitAny([ta, tb], CancellationToken.None);
        (Process done, Process other, DuetSideLaunch doneSide) = first == 0 ? (pa, pb, a) : (pb, pa, b);
        if (!Succeeded(done, doneSide))
        {
            Kill(other);
        }

        Task.WaitAll([ta, tb], CancellationToken.None);
        cancellationToken.ThrowIfCancellationRequested();
        foreach ((Process p, DuetSideLaunch s) in new[] { (pa, a), (pb, b) })
        {
            if (!Succeeded(p, s))
            {
                throw new HarnessException(
                    $"Duet pair {s.Pair}: side {s.Side.ToUpperInvariant()} exited with {p.ExitCode} and wrote no result; "
                    + $"its output is in {s.LogPath}:\n{Tail(s.LogPath)}",
                    ExitCodes.Invalid);
            }
        }

        return (a.OutputPath, b.OutputPath);
    }

    // Exit 1 is an INVALID run (e.g. quiet_host: the partner is busy on the other cores); its result still counts.
    private static bool Succeeded(Process p,
        DuetSideLaunch s) => p.ExitCode is ExitCodes.Ok or ExitCodes.Invalid && File.Exists(s.OutputPath);

    private static Process Start(DuetSideLaunch s)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(s.LogPath))!);
        var info = new ProcessStartInfo(s.Harness[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in s.Arguments())
        {
            info.ArgumentList.Add(arg);
        }

        if (s.Gpu is { } gpu)
        {
            info.Environment["CUDA_VISIBLE_DEVICES"] = gpu.ToString(CultureInfo.InvariantCulture);
        }

        var log = new StreamWriter(s.LogPath) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var gate = new object();
        void Write(string? line)
        {
            if (line is not null)
            {
                lock (gate)
                {
                    log.WriteLine(line);
                }
            }
        }

        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.Exited += (_, _) =>
        {
            process.WaitForExit(); // drains the redirected streams
            lock (gate)
            {
                log.Dispose();
            }
        };
        if (!process.Start())
        {
            throw new HarnessException($"Could not start {s.Harness[0]} for duet side {s.Side}.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Kill(Process p)
    {
        try
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    private static string Tail(string path)
    {
        try
        {
            return string.Join("\n", File.ReadLines(path).TakeLast(8));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }
}
