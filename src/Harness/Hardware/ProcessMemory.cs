namespace Harness.Hardware;

/// <summary>This process's memory from /proc/self/status (Linux); null elsewhere.</summary>
public static class ProcessMemory
{
    /// <summary>Peak resident set size so far (VmHWM), in bytes.</summary>
    public static long? PeakResidentBytes() => Field("VmHWM:");

    /// <summary>Resident set size now (VmRSS), in bytes.</summary>
    public static long? ResidentBytes() => Field("VmRSS:");

    private static long? Field(string name)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(name, StringComparison.Ordinal))
                {
                    string[] parts = line[name.Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }

        return null;
    }
}
