namespace Harness.Datasets;

/// <summary>Seed mixing (SplitMix64), so that every agent, job, turn and call gets an independent stream.</summary>
public static class Seeds
{
    public static int Mix(long a, long b = 0, long c = 0, long d = 0, long e = 0)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (long v in (ReadOnlySpan<long>)[a, b, c, d, e])
        {
            h = SplitMix(h ^ (ulong)v);
        }

        return (int)(h & 0x7FFFFFFF);
    }

    private static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
