using Harness.Fleet;

namespace Harness.Cli.Tests;

/// <summary>
/// A one-node Slurm cluster on this machine, on loopback, started and stopped by scripts/slurm-local.sh
/// (the same script .ci/run can use). Everything lives in a temporary folder; the daemons are stopped
/// by their pid files when the cluster is disposed.
/// </summary>
public sealed class LocalSlurm : IDisposable
{
    private LocalSlurm(string dir, string conf)
    {
        Dir = dir;
        SlurmConf = conf;
    }

    public string Dir { get; }

    public string SlurmConf { get; }

    /// <summary>Starts Slurm's commands against this cluster only (SLURM_CONF), without touching this process's environment.</summary>
    public IProcessRunner Runner => new SystemProcessRunner(new Dictionary<string, string> { ["SLURM_CONF"] = SlurmConf });

    public static string Script => Path.Combine(RepositoryRoot(), "scripts", "slurm-local.sh");

    /// <summary>Why a cluster cannot start here (not root, Slurm or munge not installed); null when it can.</summary>
    public static string? Unavailable()
    {
        try
        {
            (int code, _, string err) = Bash("check");
            return code == 0 ? null : $"no local Slurm here: {err.Trim()}";
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or HarnessException)
        {
            return $"no local Slurm here: {e.Message}";
        }
    }

    public static LocalSlurm Start()
    {
        string dir = Directory.CreateTempSubdirectory("harness-slurm-cluster-").FullName;
        (int code, string stdout, string stderr) = Bash("start", dir);
        if (code != 0)
        {
            Bash("stop", dir);
            throw new InvalidOperationException($"the local Slurm cluster did not start: {stderr.Trim()}");
        }

        return new LocalSlurm(dir, stdout.Trim().Split('\n')[^1]);
    }

    /// <summary>The pids of the daemons this cluster started, from their pid files.</summary>
    public IReadOnlyList<int> DaemonPids() =>
        new[] { "slurmctld.pid", "slurmd.pid", Path.Combine("munge", "munged.pid") }
            .Select(f => Path.Combine(Dir, f))
            .Where(File.Exists)
            .Select(f => int.Parse(File.ReadAllText(f).Trim(), System.Globalization.CultureInfo.InvariantCulture))
            .ToList();

    public void Dispose()
    {
        Bash("stop", Dir);
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
            // A daemon's last log line may land after the stop; the folder is in the temp dir anyway.
        }
    }

    private static (int Code, string Out, string Err) Bash(params string[] args)
    {
        ProcessResult r = SystemProcessRunner.Instance.Run("/bin/bash", [Script, .. args], TimeSpan.FromSeconds(90));
        return (r.ExitCode, r.Stdout, r.Stderr);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "scripts", "slurm-local.sh")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("scripts/slurm-local.sh was not found above the test folder");
    }
}

/// <summary>A test that needs a real (local) Slurm; skipped, with the reason, where one cannot start.</summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    public SlurmFactAttribute()
    {
        if (LocalSlurm.Unavailable() is { } reason)
        {
            Skip = reason;
        }
    }
}
