using Harness.Fleet;

namespace Harness.Testing;

/// <summary>
/// A small tmpfs mounted for one test: a disk that can be filled to the last byte, or remounted
/// read-only. Mounting needs root (and a kernel that lets this process mount), so tests that use it
/// are <see cref="TmpfsFactAttribute"/>s, skipped with the reason elsewhere. Linked into the core and
/// CLI test projects.
/// </summary>
internal sealed class Tmpfs : IDisposable
{
    private static readonly Lazy<string?> Unavailable = new(Probe);

    public Tmpfs(int kib)
    {
        Path = Directory.CreateTempSubdirectory("harness-tmpfs-").FullName;
        Run("mount", "-t", "tmpfs", "-o", $"size={kib}k,mode=0777", "tmpfs", Path);
    }

    /// <summary>Null where a tmpfs can be mounted here, else why not (one sentence, with the way to enable it).</summary>
    public static string? UnavailableReason => Unavailable.Value;

    public string Path { get; }

    /// <summary>Fills the file system to the last byte: the next write of any data fails with ENOSPC.</summary>
    public void Fill()
    {
        // Unbuffered, so that closing the file has nothing left to write.
        using var fs = new FileStream(System.IO.Path.Combine(Path, "fill"), FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        var block = new byte[4096];
        try
        {
            while (true)
            {
                fs.Write(block);
            }
        }
        catch (IOException)
        {
            // full; what did fit stays
        }
    }

    public void MakeReadOnly() => Run("mount", "-o", "remount,ro", Path);

    public void Dispose()
    {
        SystemProcessRunner.Instance.Run("umount", ["-l", Path], TimeSpan.FromSeconds(30));
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void Run(string program, params string[] args)
    {
        ProcessResult r = SystemProcessRunner.Instance.Run(program, args, TimeSpan.FromSeconds(30));
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr.Trim()}");
        }
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "a tmpfs is a Linux file system";
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "mounting a small tmpfs needs root: run the suite as root (sudo ./run.sh test)";
        }

        try
        {
            using var probe = new Tmpfs(64);
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return $"root, but this machine does not let the tests mount a tmpfs ({e.Message})";
        }
    }
}

/// <summary>A fact that needs <see cref="Tmpfs"/>: skipped with the reason where a tmpfs cannot be mounted.</summary>
internal sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute()
    {
        if (Tmpfs.UnavailableReason is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>
/// A folder this process cannot write in: mode 0555 for a normal user; root ignores modes, so for
/// root a read-only tmpfs. <see cref="Cause"/> is what the system then says.
/// </summary>
internal sealed class UnwritableFolder : IDisposable
{
    private readonly Tmpfs? _tmpfs;

    public UnwritableFolder()
    {
        if (Environment.IsPrivilegedProcess)
        {
            _tmpfs = new Tmpfs(64);
            _tmpfs.MakeReadOnly();
            Path = _tmpfs.Path;
            Cause = "read-only file system";
        }
        else if (!OperatingSystem.IsWindows())
        {
            Path = Directory.CreateTempSubdirectory("harness-unwritable-").FullName;
            File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            Cause = "permission denied";
        }
        else
        {
            throw new PlatformNotSupportedException("file modes are Unix's");
        }
    }

    /// <summary>Null where such a folder can be made here (any user; root needs a tmpfs), else why not.</summary>
    public static string? UnavailableReason => Environment.IsPrivilegedProcess ? Tmpfs.UnavailableReason : null;

    public string Path { get; }

    public string Cause { get; }

    public void Dispose()
    {
        if (_tmpfs is not null)
        {
            _tmpfs.Dispose();
        }
        else if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Directory.Delete(Path, recursive: true);
        }
    }
}

/// <summary>A fact that needs an <see cref="UnwritableFolder"/>.</summary>
internal sealed class UnwritableFolderFactAttribute : FactAttribute
{
    public UnwritableFolderFactAttribute()
    {
        if (UnwritableFolder.UnavailableReason is { } reason)
        {
            Skip = reason;
        }
    }
}
