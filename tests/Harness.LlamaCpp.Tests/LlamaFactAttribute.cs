namespace Harness.LlamaCpp.Tests;

/// <summary>
/// A fact that needs llama.cpp's native library (LLamaSharp.Backend.Cpu): skipped with the loader's
/// one-sentence reason only where it cannot load (it loads on Debian 12 with no compat step).
/// </summary>
public sealed class LlamaFactAttribute : FactAttribute
{
    public LlamaFactAttribute()
    {
        if (LlamaRuntime.TryEnsure() is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>The theory counterpart of <see cref="LlamaFactAttribute"/>.</summary>
public sealed class LlamaTheoryAttribute : TheoryAttribute
{
    public LlamaTheoryAttribute()
    {
        if (LlamaRuntime.TryEnsure() is { } reason)
        {
            Skip = reason;
        }
    }
}
