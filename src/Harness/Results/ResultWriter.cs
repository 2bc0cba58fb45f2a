using System.Globalization;
using System.Runtime.InteropServices;

namespace Harness.Results;

/// <summary>
/// Where a result went: its own path, or a rescue copy in a temporary folder when its own path could
/// not be written, with the cause ("no space left on device").
/// </summary>
public sealed record WrittenResult(string Path, string? IntendedPath = null, string? Cause = null)
{
    public bool Rescued => IntendedPath is not null;

    /// <summary>The sentence a command prints when the result was rescued; null when it was not.</summary>
    public string? RescueMessage => Rescued
        ? $"could not write the result to {IntendedPath}: {Cause}; it was saved to {Path} instead."
        : null;
}

/// <summary>
/// The one rule for writing a measurement. Before measuring, <see cref="EnsureWritable"/> checks that
/// the folder takes a file (else bad input, exit 2, nothing measured). After measuring,
/// <see cref="Write(string, string, IEnumerable{string})"/> writes it atomically; when that fails (the disk filled, the
/// folder became unwritable or read-only) it saves a copy under the temporary folder and says where
/// and why, and the command exits 1. No measurement is lost to a write failure.
/// </summary>
public static class ResultWriter
{
    /// <summary>One folder per process under each temporary root, so that rescues never overwrite another run's.</summary>
    private static readonly string RescueFolderName = string.Create(CultureInfo.InvariantCulture,
        $"harness-rescued/{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{Environment.ProcessId}");

    /// <summary>Fails before measuring, not after: the folder is created and must take a new file.</summary>
    public static void EnsureWritable(string path)
    {
        if (Directory.Exists(path))
        {
            throw HarnessException.BadInput($"Output path '{path}' is a directory; give a file name such as {Path.Combine(path, "result.json")}.");
        }

        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string probe = Path.Combine(dir, $".harness-write-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(dir);
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
            }

            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw HarnessException.BadInput($"Cannot write the result to '{path}': {Cause(e)}.", e);
        }
    }

    /// <summary>Writes <paramref name="contents"/> to <paramref name="path"/>, or rescues it (see the class).</summary>
    /// <param name="rescueRoots">Folders for the rescue copy, tried in order; default the temporary folder, then /dev/shm.</param>
    public static WrittenResult Write(string path, string contents, IEnumerable<string>? rescueRoots = null) => Write(path, _ => contents, rescueRoots);

    /// <summary>
    /// As <see cref="Write(string, string, IEnumerable{string})"/>, with contents that depend on where the file lands (a
    /// sweep index names its files relative to its own folder).
    /// </summary>
    /// <param name="rescueRoots">Folders for the rescue copy, tried in order; default the temporary folder, then /dev/shm.</param>
    public static WrittenResult Write(string path, Func<string, string> contentsFor, IEnumerable<string>? rescueRoots = null)
    {
        string full = Path.GetFullPath(path);
        string cause;
        try
        {
            AtomicFile.WriteAllText(full, contentsFor(full));
            return new WrittenResult(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            cause = Cause(e);
        }

        var tried = new List<string>();
        foreach (string root in rescueRoots ?? DefaultRescueRoots())
        {
            string rescue = RescuePath(root, full);
            try
            {
                AtomicFile.WriteAllText(rescue, contentsFor(rescue));
                return new WrittenResult(rescue, full, cause);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                tried.Add($"{rescue}: {Cause(e)}");
            }
        }

        throw new HarnessException(
            $"Could not write the result to {full}: {cause}; nor a copy to the temporary folders ({string.Join("; ", tried)}). The measurement could not be saved.",
            ExitCodes.Invalid);
    }

    /// <summary>
    /// How an index written to <paramref name="indexPath"/> (a sweep's) names one of its files: by file
    /// name when the file lies in the same folder, else by its full path (one of the two was rescued).
    /// </summary>
    public static string NameBeside(string indexPath, string file)
    {
        string full = Path.GetFullPath(file);
        return Path.GetDirectoryName(full) == Path.GetDirectoryName(Path.GetFullPath(indexPath)) ? Path.GetFileName(full) : full;
    }

    /// <summary>
    /// The cause of a file-system failure in the system's words ("no space left on device",
    /// "permission denied", "read-only file system"), without the exception type or the path.
    /// </summary>
    public static string Cause(Exception e)
    {
        Exception withErrno = e is UnauthorizedAccessException { InnerException: IOException inner } ? inner : e;
        if (withErrno is IOException && withErrno.HResult is > 0 and < 4096)
        {
            string text = Marshal.GetPInvokeErrorMessage(withErrno.HResult);
            if (text.Length > 0 && !text.StartsWith("Unknown error", StringComparison.Ordinal))
            {
                return char.ToLowerInvariant(text[0]) + text[1..];
            }
        }

        return e switch
        {
            UnauthorizedAccessException => "permission denied",
            DirectoryNotFoundException or FileNotFoundException => "no such file or directory",
            PathTooLongException => "file name too long",
            _ => e.Message,
        };
    }

    /// <summary>&lt;temp&gt;/harness-rescued/&lt;utc&gt;-&lt;pid&gt;/&lt;folder of the target&gt;/&lt;file name&gt;: a sweep's files stay together.</summary>
    internal static string RescuePath(string root, string intended)
    {
        string parent = Path.GetFileName(Path.GetDirectoryName(intended)!);
        return Path.Combine(root, RescueFolderName, parent.Length > 0 ? parent : "root", Path.GetFileName(intended));
    }

    private static IEnumerable<string> DefaultRescueRoots()
    {
        // /dev/shm is memory-backed: it has room when the disk that holds /tmp is the full one.
        string[] candidates = [Path.GetTempPath(), "/dev/shm"];
        return candidates.Where(Directory.Exists).Select(Path.GetFullPath).Distinct(StringComparer.Ordinal);
    }
}
