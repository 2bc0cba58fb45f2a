namespace Harness.Hardware;

/// <summary>
/// How this harness was installed: a clone's build, the .NET tool, or a self-contained build; for doctor
/// and the TorchSharp compat.
/// </summary>
public static class AppInstall
{
    /// <summary>Whether this process runs with its own .NET runtime (scripts/publish.sh): the runtime lies beside the app.</summary>
    public static bool SelfContained =>
        string.Equals(
            Path.TrimEndingDirectorySeparator(Path.GetDirectoryName(typeof(object).Assembly.Location) ?? ""),
            Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory),
            StringComparison.Ordinal);

    /// <summary>The repository root when <paramref name="baseDirectory"/> lies in a clone (it holds scripts/torch-compat.sh).</summary>
    public static string? CloneRoot(string baseDirectory)
    {
        for (DirectoryInfo? d = new(baseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "scripts", "torch-compat.sh")))
            {
                return d.FullName;
            }
        }

        return null;
    }

    /// <summary>One line: what kind of install, where, and which .NET runtime from where.</summary>
    public static string Describe()
    {
        string dir = AppContext.BaseDirectory;
        string kind = SelfContained ? "self-contained build"
            : dir.Contains("/.store/", StringComparison.Ordinal) ? ".NET tool"
            : CloneRoot(dir) is { } repo ? $"build of the clone {repo}"
            : "framework-dependent build";
        string runtime = Path.GetDirectoryName(typeof(object).Assembly.Location) ?? "?";
        return $"{kind} in {dir} (.NET {Environment.Version} from {runtime})";
    }
}
