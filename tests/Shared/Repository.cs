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

    /// <summary>
    /// tests/fixtures/results: copies of the few committed results that tests read, under their paths in
    /// results/, so that moving the committed results breaks no test (tests/fixtures/results/README.md).
    /// </summary>
    public static string ResultFixtures => Path.Combine(Root, "tests", "fixtures", "results");
}
