namespace Harness.Testing;

/// <summary>The repository the tests run from (linked into the core and CLI test projects).</summary>
internal static class Repository
{
    /// <summary>The repository root (where Harness.sln is), for committed files such as results/.</summary>
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Harness.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("Harness.sln not found above the test binaries.");
        }
    }
}
