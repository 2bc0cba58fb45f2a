namespace Harness.Tests.Fakes;

/// <summary>
/// A fact that needs programs on the PATH (e.g. prometheus, promtool): skipped, saying which are
/// missing and how to get them, where they are not installed. CI installs them (docs/telemetry.md).
/// </summary>
public sealed class RequiresBinariesFactAttribute : FactAttribute
{
    public RequiresBinariesFactAttribute(params string[] binaries)
    {
        string[] missing = binaries.Where(b => Find(b) is null).ToArray();
        if (missing.Length > 0)
        {
            Skip = $"needs {string.Join(", ", missing)} on the PATH (Debian packages prometheus, prometheus-pushgateway; sudo ./run.sh test installs them)";
        }
    }

    public static string? Find(string binary) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, binary))
            .FirstOrDefault(File.Exists);
}
