using System.Globalization;

namespace Harness.Engine.Scenarios;

/// <summary>Turns the <c>--scenario</c> text into a scenario; the one place that knows their names.</summary>
public static class ScenarioParser
{
    public const string Help = "single | offline | concurrency:N | poisson:RATE[:WORKERS] | trace[:WORKERS] (with --dataset trace:FILE.jsonl)";

    /// <summary>Parses a scenario; <paramref name="seed"/> seeds open-loop arrival schedules.</summary>
    public static IScenario Parse(string text, int seed = PoissonScenario.DefaultSeed)
    {
        string s = text.Trim().ToLowerInvariant();
        if (s == "single")
        {
            return ClosedLoopScenario.Single;
        }

        if (s == "offline")
        {
            return ClosedLoopScenario.Offline;
        }

        if (s.StartsWith("concurrency:", StringComparison.Ordinal))
        {
            string n = s["concurrency:".Length..];
            if (int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out int c) && c is >= 1 and <= 4096)
            {
                return ClosedLoopScenario.Concurrency(c);
            }

            throw HarnessException.BadInput($"Scenario '{text}' needs a concurrency from 1 to 4096, e.g. concurrency:4.");
        }

        if (s.StartsWith("poisson:", StringComparison.Ordinal))
        {
            return ParsePoisson(text, s["poisson:".Length..], seed);
        }

        if (IsTrace(s))
        {
            throw HarnessException.BadInput($"Scenario '{text}' replays the schedule of a trace: give --dataset trace:FILE.jsonl with it.");
        }

        throw HarnessException.BadInput($"Unknown scenario '{text}'; expected {Help}.");
    }

    /// <summary>Whether the text names the trace scenario (trace or trace:WORKERS).</summary>
    public static bool IsTrace(string text)
    {
        string s = text.Trim().ToLowerInvariant();
        return s == "trace" || s.StartsWith("trace:", StringComparison.Ordinal);
    }

    /// <summary>trace[:WORKERS] over a trace's arrivals, <paramref name="speedup"/> times faster than recorded.</summary>
    public static TraceScenario ParseTrace(string text, IReadOnlyList<TraceArrival> arrivals, double speedup)
    {
        string s = text.Trim().ToLowerInvariant();
        int workers = TraceScenario.DefaultWorkers;
        if (s.StartsWith("trace:", StringComparison.Ordinal)
            && (!int.TryParse(s["trace:".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out workers) || workers is < 1 or > 4096))
        {
            throw HarnessException.BadInput($"Scenario '{text}' needs a worker count from 1 to 4096, e.g. trace:64.");
        }

        if (!(speedup > 0) || speedup > 1_000_000 || double.IsNaN(speedup))
        {
            throw HarnessException.BadInput("--speedup must be a number above 0, e.g. 2 to replay a trace twice as fast.");
        }

        return new TraceScenario(arrivals, speedup, workers);
    }

    private static PoissonScenario ParsePoisson(string text, string args, int seed)
    {
        string[] parts = args.Split(':');
        if (parts.Length > 2
            || !double.TryParse(parts[0], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double rate)
            || rate <= 0 || rate > 1_000_000)
        {
            throw HarnessException.BadInput($"Scenario '{text}' needs an arrival rate in requests per second above 0 and up to 1000000, e.g. poisson:50 or poisson:50:8 (rate 50/s, 8 workers).");
        }

        int workers = PoissonScenario.DefaultWorkers;
        if (parts.Length == 2
            && (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out workers) || workers is < 1 or > 4096))
        {
            throw HarnessException.BadInput($"Scenario '{text}' needs a worker count from 1 to 4096 after the rate, e.g. poisson:50:8.");
        }

        return new PoissonScenario(rate, workers, seed);
    }
}
