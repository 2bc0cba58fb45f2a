namespace Harness.Tests.Fakes;

/// <summary>A temporary folder deleted at the end of a test.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("harness-agents-test-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
