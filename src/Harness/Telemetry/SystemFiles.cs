using Microsoft.Win32.SafeHandles;

namespace Harness.Telemetry;

/// <summary>The /proc and /sys files the CPU source reads; faked in tests with fixed text.</summary>
public interface ISystemFiles
{
    /// <summary>Reads the file from its start into <paramref name="buffer"/>; -1 when it is missing or unreadable.</summary>
    int Read(string path, Span<byte> buffer);

    bool Exists(string path);

    /// <summary>Names (not paths) of the subdirectories; empty when the directory is missing.</summary>
    IReadOnlyList<string> ListDirectories(string path);

    /// <summary>Names of every entry (files, links, directories); empty when the directory is missing or unreadable.</summary>
    IReadOnlyList<string> ListEntries(string path);

    /// <summary>The target of a symbolic link as the kernel gives it (/proc/PID/fd/N: "socket:[123]"); null when unreadable.</summary>
    string? ReadLink(string path);

    /// <summary>Like <see cref="Read"/>, but opens and closes the file: for files of other processes, which come and go.</summary>
    int ReadOnce(string path, Span<byte> buffer);
}

/// <summary>
/// The real file system. Files stay open and are re-read from offset 0 (pread), which makes procfs and
/// sysfs generate fresh contents: a reading costs one system call per file, no open or close.
/// </summary>
public sealed class SystemFiles : ISystemFiles
{
    public static readonly SystemFiles Instance = new();

    private readonly Dictionary<string, SafeFileHandle> _open = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public int Read(string path, Span<byte> buffer)
    {
        try
        {
            SafeFileHandle handle;
            lock (_gate)
            {
                if (!_open.TryGetValue(path, out handle!))
                {
                    handle = File.OpenHandle(path);
                    _open[path] = handle;
                }
            }

            return ReadFrom(handle, buffer);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    public int ReadOnce(string path, Span<byte> buffer)
    {
        try
        {
            using SafeFileHandle handle = File.OpenHandle(path);
            return ReadFrom(handle, buffer);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    public bool Exists(string path) => File.Exists(path);

    public IReadOnlyList<string> ListEntries(string path)
    {
        try
        {
            return Directory.Exists(path)
                ? Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).OfType<string>().ToList()
                : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    public string? ReadLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public IReadOnlyList<string> ListDirectories(string path)
    {
        try
        {
            // powercap zones are symbolic links to directories; EnumerateDirectories follows them.
            return Directory.Exists(path) ? Directory.EnumerateDirectories(path).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList() : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static int ReadFrom(SafeFileHandle handle, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = RandomAccess.Read(handle, buffer[total..], total);
            if (n <= 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}
