namespace Harness.Engine.Scenarios;

/// <summary>
/// The arrival schedule of a Poisson process: exponential gaps with mean 1/rate, drawn from a seeded
/// generator so that a schedule is the same on every run (MLPerf fixes its schedule seed too). Pure:
/// no clock, so its rate and dispersion can be tested without waiting.
/// </summary>
public sealed class PoissonArrivals
{
    private readonly Random _random;
    private double _time;

    public PoissonArrivals(double ratePerSecond, int seed)
    {
        if (!(ratePerSecond > 0) || double.IsInfinity(ratePerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "rate must be positive and finite");
        }

        Rate = ratePerSecond;
        // new Random(seed) keeps its legacy algorithm across .NET versions: the schedule is reproducible.
        _random = new Random(seed);
    }

    public double Rate { get; }

    /// <summary>Seconds from the phase start to the next arrival; strictly increasing.</summary>
    public double Next()
    {
        // Inverse CDF of the exponential; 1 - U lies in (0, 1], so the log is finite.
        _time += -Math.Log(1 - _random.NextDouble()) / Rate;
        return _time;
    }

    /// <summary>The first <paramref name="count"/> arrival times, in seconds.</summary>
    public static double[] Times(double ratePerSecond, int seed, int count)
    {
        var arrivals = new PoissonArrivals(ratePerSecond, seed);
        var times = new double[count];
        for (int i = 0; i < count; i++)
        {
            times[i] = arrivals.Next();
        }

        return times;
    }
}
