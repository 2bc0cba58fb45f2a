namespace Harness.Torch.Tests;

/// <summary>
/// A fact that needs TorchSharp: skipped with the loader's one-sentence reason where libtorch cannot
/// load (e.g. Debian 12 without the compat dotnet), unless HARNESS_REQUIRE_TORCH=1, where it runs
/// and fails loudly (CI must not silently skip the parity test).
/// </summary>
public sealed class TorchFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(() => TorchRuntime.TryEnsure("cpu", null));

    public TorchFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("HARNESS_REQUIRE_TORCH") != "1" && Unavailable.Value is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>The theory counterpart of <see cref="TorchFactAttribute"/>.</summary>
public sealed class TorchTheoryAttribute : TheoryAttribute
{
    private static readonly Lazy<string?> Unavailable = new(() => TorchRuntime.TryEnsure("cpu", null));

    public TorchTheoryAttribute()
    {
        if (Environment.GetEnvironmentVariable("HARNESS_REQUIRE_TORCH") != "1" && Unavailable.Value is { } reason)
        {
            Skip = reason;
        }
    }
}
