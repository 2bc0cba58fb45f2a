namespace Harness.Benchmarks;

/// <summary>Seeded latencies shaped like a real model's (log-normal around 20 ms), so the histogram sees realistic values.</summary>
internal static class SyntheticLatencies
{
    public static long[] Ticks(int count, long frequency, int seed, double medianMs = 20, double sigma = 0.15)
    {
        var rng = new Random(seed);
        var ticks = new long[count];
        for (int i = 0; i < count; i++)
        {
            // Box-Muller: one standard normal per sample.
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            double z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            double ms = medianMs * Math.Exp(sigma * z);
            ticks[i] = (long)(ms / 1000 * frequency);
        }

        return ticks;
    }
}
