using System.Diagnostics;

namespace Harness.Benchmarks;

/// <summary>
/// Some benchmarks here run in fixed iterations of well under a millisecond (their recorders must
/// start fresh each iteration), which BenchmarkDotNet finishes before the JIT's tiering (a 100 ms
/// quiet period, then call counting and a background recompile) promotes the measured code: they
/// would time unoptimized tier-0 code, several times slower. Running the same code for a while in
/// the global setup gets it to tier 1 first, as the seconds of a real harness run do.
/// </summary>
internal static class TieredJitWarmup
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(1.5);

    public static void Run(Action body)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Duration)
        {
            body();
        }
    }
}
