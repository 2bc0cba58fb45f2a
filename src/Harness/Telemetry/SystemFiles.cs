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
}

/// <summary>The real file system. One open, one pread and one close per file per reading.</summary>
public sealed class SystemFiles : ISystemFiles
{
    public static readonly SystemFiles Instance = new();

    public int Read(string path, Span<byte> buffer)
    {
        try
        {
            using SafeFileHandle handle = File.OpenHandle(path);
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
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    public bool Exists(string path) => File.Exists(path);

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
}
