namespace Harness.Testing;

/// <summary>
/// The test runs' shared cache of generated decoder graphs and exported files: <c>HARNESS_TEST_CACHE</c>, else a
/// folder under the temporary directory, made the process's <c>HARNESS_CACHE</c>. Shared across runs: entries are
/// keyed by shape, dtype, seed and generator version and written atomically, so reuse is safe and saves
/// regenerating gpt2-124m (0.5 GB) every run. Linked into the test projects that build decoders.
/// </summary>
internal static class TestCache
{
    private static readonly Lazy<string> Root = new(() =>
    {
        string dir = Environment.GetEnvironmentVariable("HARNESS_TEST_CACHE") is { Length: > 0 } d
            ? d
            : Path.Combine(Path.GetTempPath(), "harness-test-cache");
        Directory.CreateDirectory(dir);
        Environment.SetEnvironmentVariable("HARNESS_CACHE", dir);
        return dir;
    });

    /// <summary>The cache's folder, set up on first use.</summary>
    public static string Ensure() => Root.Value;
}
