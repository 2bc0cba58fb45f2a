using System.Diagnostics;

namespace Harness.Tests.Fleet;

/// <summary>Runs a generated script under a real shell, with a fake harness that records what it was given.</summary>
public sealed class ShellRunner : IDisposable
{
    public ShellRunner()
    {
        Dir = Directory.CreateTempSubdirectory("harness-shell-").FullName;
        FakeHarness = Path.Combine(Dir, "fake-harness.sh");
        // Records each argument on its own line, writes a tiny result where --out says, exits with FAKE_EXIT.
        File.WriteAllText(FakeHarness, """
            #!/bin/sh
            for a in "$@"; do printf '%s\n' "$a" >> "$ARGV_FILE"; done
            out=""
            while [ $# -gt 0 ]; do
              if [ "$1" = "--out" ]; then out=$2; fi
              shift
            done
            if [ -n "${FAKE_STARTED:-}" ]; then
              touch "$FAKE_STARTED"
              while [ ! -f "$FAKE_RELEASE" ]; do sleep 0.05; done
            fi
            echo "fake harness says hello"
            echo "fake harness complains" >&2
            [ -z "$out" ] || echo '{"schema_version": 1}' > "$out"
            exit "${FAKE_EXIT:-0}"
            """);
        ArgvFile = Path.Combine(Dir, "argv.txt");
    }

    public string Dir { get; }

    public string FakeHarness { get; }

    public string ArgvFile { get; }

    /// <summary>The harness command that starts the fake.</summary>
    public IReadOnlyList<string> HarnessCommand => ["/bin/sh", FakeHarness];

    public string[] RecordedArgv => File.Exists(ArgvFile) ? File.ReadAllLines(ArgvFile) : [];

    public (int Code, string Out, string Err) Run(string shell, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env)
    {
        using Process p = Start(shell, args, env);
        return Finish(p);
    }

    public Process Start(string shell, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env)
    {
        var start = new ProcessStartInfo(shell) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Dir };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        // A clean scheduler environment: only what the test sets.
        foreach (string name in new[] { "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_COUNT", "SLURMD_NODENAME", "SLURM_JOB_GPUS", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "JOB_COMPLETION_INDEX", "NODE_NAME" })
        {
            start.Environment.Remove(name);
        }

        start.Environment["ARGV_FILE"] = ArgvFile;
        foreach ((string k, string v) in env)
        {
            start.Environment[k] = v;
        }

        return Process.Start(start)!;
    }

    public static (int Code, string Out, string Err) Finish(Process p)
    {
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("the script did not finish");
        }

        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
