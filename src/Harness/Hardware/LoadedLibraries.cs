namespace Harness.Hardware;

/// <summary>Where this process loaded a native library from (Linux: /proc/self/maps), for doctor and loader checks.</summary>
public static class LoadedLibraries
{
    /// <summary>
    /// The path of the first mapped file whose name starts with <paramref name="fileNamePrefix"/>
    /// (e.g. "libstdc++.so"), or null.
    /// </summary>
    public static string? PathOf(string fileNamePrefix)
    {
        try
        {
            return File.ReadLines("/proc/self/maps")
                .Select(l => l.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
                .Where(p => p.Length == 6 && Path.GetFileName(p[5].Trim()).StartsWith(fileNamePrefix, StringComparison.Ordinal))
                .Select(p => p[5].Trim())
                .FirstOrDefault();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
