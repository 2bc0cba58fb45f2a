using System.Diagnostics;
using System.Globalization;
using System.Text;
using Harness.Agents.Jobs;
using Harness.Agents.Profiles;

namespace Harness.Agents.Tools;

/// <summary>
/// <c>exec</c>: a real short subprocess, as coding agents run shell commands. Only the commands of the
/// profile's allow-list run, with the fixed arguments written there; a call picks a command by name
/// (its variant) and sends a slice of the corpus on stdin, so nothing from a call ever becomes an
/// argument. The process runs in a private temporary folder with an empty environment, without
/// network where a new network namespace can be made (<c>unshare -r -n</c>), and is killed at its
/// timeout or when its output passes the limit.
/// </summary>
public sealed class ExecTool : AgentTool
{
    /// <summary>Folders searched for an allowed command given without a path; never $PATH.</summary>
    public static readonly string[] SearchPath = ["/usr/local/bin", "/usr/bin", "/bin"];

    private const int KeptStdout = 64 * 1024;
    private const int KeptStderr = 2 * 1024;

    private readonly Dictionary<string, (string Path, IReadOnlyList<string> Args)> _commands = new(StringComparer.Ordinal);
    /// <summary>Runs the command, then prints its CPU time with the shell's <c>times</c> on stderr, keeping its exit status.</summary>
    private const string TimesWrapper = "\"$@\"; s=$?; times >&2; exit $s";

    private string? _unshare;
    private string? _shell;
    private int _maxOutput;

    public override string Name => "exec";

    public override string Description => "A real subprocess from the profile's allow-list, data on stdin, with a timeout, an output limit, a temporary folder and no network.";

    public override IReadOnlyDictionary<string, string> Parameters { get; } = new Dictionary<string, string>
    {
        ["input_kb"] = "KiB of corpus text sent on stdin (default 64, 0 for none, at most 8 MiB)",
    };

    /// <summary>How the subprocesses are isolated in this run, for the result's config.</summary>
    public string Isolation => _unshare is null ? "temporary folder, empty environment; network not isolated" : "temporary folder, empty environment, new user and network namespace (unshare -r -n): no network";

    public static string? Resolve(string command)
    {
        if (command.Contains('/'))
        {
            return File.Exists(command) ? command : null;
        }

        return SearchPath.Select(d => Path.Combine(d, command)).FirstOrDefault(File.Exists);
    }

    public override ToolOutput Invoke(ToolCallPlan call, ToolContext context)
    {
        if (call.Variant is null || !_commands.TryGetValue(call.Variant, out var command))
        {
            throw new ToolFailedException($"command '{call.Variant}' is not on the allow-list");
        }

        int bytes = Arg(call, "input_kb", 64, 0, SyntheticCorpus.DefaultBytes / 1024) * 1024;
        ReadOnlyMemory<byte> input = bytes > 0 ? Environment.Corpus.Bytes(call.Seed, bytes) : ReadOnlyMemory<byte>.Empty;
        // [unshare -r -n --] [sh -c WRAPPER exec] command fixed-args: each wrapper execs what follows it.
        var argv = new List<string>();
        if (_unshare is not null)
        {
            argv.AddRange(["-r", "-n", "--"]);
            if (_shell is not null)
            {
                argv.Add(_shell);
            }
        }

        if (_shell is not null)
        {
            argv.AddRange(["-c", TimesWrapper, "exec"]);
        }

        if (_unshare is not null || _shell is not null)
        {
            argv.Add(command.Path);
        }

        argv.AddRange(command.Args);
        var psi = new ProcessStartInfo(_unshare ?? _shell ?? command.Path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Environment.WorkerDirectory(context.Worker),
        };
        foreach (string a in argv)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Clear();
        psi.Environment["PATH"] = string.Join(':', SearchPath);
        psi.Environment["LC_ALL"] = "C";
        psi.Environment["HOME"] = psi.WorkingDirectory;
        psi.Environment["TMPDIR"] = psi.WorkingDirectory;

        using Process process = Process.Start(psi) ?? throw new ToolFailedException($"'{call.Variant}' did not start");
        var pump = new OutputPump(process, _maxOutput);
        Task stdout = Task.Factory.StartNew(() => pump.Read(process.StandardOutput.BaseStream, pump.Stdout, KeptStdout), TaskCreationOptions.LongRunning);
        Task stderr = Task.Factory.StartNew(() => pump.Read(process.StandardError.BaseStream, pump.Stderr, KeptStderr), TaskCreationOptions.LongRunning);
        Task stdin = Task.Factory.StartNew(() => WriteInput(process, input), TaskCreationOptions.LongRunning);
        try
        {
            process.WaitForExitAsync(context.CancellationToken).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            throw;
        }

        // A grandchild that keeps the pipes open must not hold the worker: wait a bounded time.
        if (!Task.WaitAll([stdout, stderr, stdin], TimeSpan.FromSeconds(2)))
        {
            Kill(process);
            throw new ToolFailedException($"'{call.Variant}' exited but a child process kept its output open");
        }

        if (pump.Overflowed)
        {
            throw new ToolFailedException($"'{call.Variant}' wrote more than {_maxOutput} bytes of output and was killed (output limit)");
        }

        int code = process.ExitCode;
        (string errText, TimeSpan childCpu) = SplitTimes(Encoding.UTF8.GetString(pump.Stderr.ToArray()));
        if (code != 0)
        {
            string err = errText.Split('\n', 2)[0].Trim();
            throw new ToolFailedException(code is > 128 and < 128 + 65
                ? string.Create(CultureInfo.InvariantCulture, $"'{call.Variant}' was killed by signal {code - 128} (exit code {code})")
                : string.Create(CultureInfo.InvariantCulture, $"'{call.Variant}' exited with code {code}{(err.Length > 0 ? ": " + err : "")}"));
        }

        return new ToolOutput(Encoding.UTF8.GetString(pump.Stdout.GetBuffer(), 0, (int)pump.Stdout.Length)) { SubprocessCpu = childCpu };
    }

    /// <summary>Takes the shell's <c>times</c> lines off stderr: the second is the children's user and system time ("0m0.120000s 0m0.010000s").</summary>
    internal static (string Stderr, TimeSpan ChildCpu) SplitTimes(string stderr)
    {
        string[] lines = stderr.TrimEnd('\n').Split('\n');
        if (lines.Length < 2 || ParseTimes(lines[^1]) is not { } children || ParseTimes(lines[^2]) is null)
        {
            return (stderr, TimeSpan.Zero);
        }

        return (string.Join('\n', lines[..^2]), children);
    }

    private static TimeSpan? ParseTimes(string line)
    {
        string[] parts = line.Trim().Split(' ');
        if (parts.Length != 2)
        {
            return null;
        }

        TimeSpan total = TimeSpan.Zero;
        foreach (string p in parts)
        {
            int m = p.IndexOf('m');
            if (m <= 0 || !p.EndsWith('s')
                || !int.TryParse(p[..m], NumberStyles.None, CultureInfo.InvariantCulture, out int minutes)
                || !double.TryParse(p[(m + 1)..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds))
            {
                return null;
            }

            total += TimeSpan.FromMinutes(minutes) + TimeSpan.FromSeconds(seconds);
        }

        return total;
    }

    protected override IReadOnlyList<string> VariantsFor(AgentProfile profile) => profile.Exec.Allow.Select(c => c.Name).ToList();

    protected override void OnPrepare(ToolEnvironment environment)
    {
        ExecSettings exec = environment.Profile.Exec;
        _maxOutput = exec.MaxOutputBytes;
        foreach (ExecCommand c in exec.Allow)
        {
            string path = Resolve(c.Command)
                ?? throw HarnessException.BadInput($"Agent profile '{environment.Profile.Name}': exec command '{c.Name}' runs '{c.Command}', which is not in {string.Join(", ", SearchPath)}.");
            _commands[c.Name] = (path, c.Args);
        }

        _shell = Resolve("sh");
        _unshare = exec.Sandbox == "none" ? null : ProbeUnshare();
        if (_unshare is null && exec.Sandbox == "unshare")
        {
            throw HarnessException.BadInput($"Agent profile '{environment.Profile.Name}' requires exec sandbox 'unshare', but 'unshare -r -n' does not work here (no user namespaces).");
        }
    }

    private static string? ProbeUnshare()
    {
        string? unshare = Resolve("unshare");
        string? truth = Resolve("true");
        if (unshare is null || truth is null)
        {
            return null;
        }

        try
        {
            var psi = new ProcessStartInfo(unshare) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (string a in (string[])["-r", "-n", "--", truth])
            {
                psi.ArgumentList.Add(a);
            }

            using Process p = Process.Start(psi)!;
            if (!p.WaitForExit(5000))
            {
                Kill(p);
                return null;
            }

            return p.ExitCode == 0 ? unshare : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static void WriteInput(Process process, ReadOnlyMemory<byte> input)
    {
        try
        {
            Stream s = process.StandardInput.BaseStream;
            s.Write(input.Span);
            s.Close();
        }
        catch (IOException)
        {
            // The command exited (or was killed) without reading all of its input.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    /// <summary>Reads stdout and stderr, keeps a bounded head of each, and kills the process once the total passes the limit.</summary>
    private sealed class OutputPump(Process process, int limit)
    {
        private long _total;
        private int _overflowed;

        public MemoryStream Stdout { get; } = new();

        public MemoryStream Stderr { get; } = new();

        public bool Overflowed => Volatile.Read(ref _overflowed) != 0;

        public void Read(Stream stream, MemoryStream keep, int keepBytes)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                int n;
                while ((n = stream.Read(buffer)) > 0)
                {
                    if (keep.Length < keepBytes)
                    {
                        keep.Write(buffer, 0, (int)Math.Min(n, keepBytes - keep.Length));
                    }

                    if (Interlocked.Add(ref _total, n) > limit && Interlocked.Exchange(ref _overflowed, 1) == 0)
                    {
                        Kill(process);
                    }
                }
            }
            catch (IOException)
            {
                // The pipe broke when the process was killed.
            }
        }
    }
}
