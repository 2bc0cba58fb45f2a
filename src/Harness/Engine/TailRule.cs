using System.Globalization;
using Harness.Engine.Scenarios;
using Harness.Measurement;

namespace Harness.Engine;

/// <summary>
/// One percentile the tail rule waits for: the metric whose samples count (latency, ttft, tpot), the
/// limit its misses are counted against (an SLO's, in ms; null: only timeouts miss) and why it is wanted.
/// </summary>
public sealed record TailTarget(string Metric, double Percentile, double? LimitMs, string Source)
{
    /// <summary>0.99 → "p99", 0.999 → "p999": the name in <c>enough_samples_pNN</c>.</summary>
    public string Name => TailRule.PercentileName(Percentile);

    /// <summary>Samples needed when none misses (p99: 459, p90: 44).</summary>
    public long MinimumSamples => TailRule.Needed(Percentile, 0);

    /// <summary>"459 latency samples for p99 (scenario poisson:1)".</summary>
    public string Describe(long need) => string.Create(CultureInfo.InvariantCulture, $"{need} {Metric} samples for {Name} ({Source})");
}

/// <summary>
/// The tail rule (MLPerf LoadGen's minimum query count, with its early-stopping bound): enough samples
/// for each targeted percentile to be trusted at 99% confidence. The validity rule
/// <c>enough_samples_pNN</c> judges a finished run by it; the engine, when
/// <see cref="StopRules.UntilTail"/> is set, keeps measuring past the minimum duration until it holds.
/// Samples of a percentile are the metric's samples plus the timeouts; misses are the samples over
/// the limit plus the timeouts. Every miss raises the bound (p99: 459 with none, 662 with one).
/// </summary>
public static class TailRule
{
    /// <summary>Samples needed for percentile <paramref name="p"/> when <paramref name="misses"/> of them miss.</summary>
    public static long Needed(double p, long misses) => Statistics.EarlyStoppingMinimum(p, (int)Math.Min(misses, int.MaxValue));

    /// <summary>More than the percentile's share missed: it cannot be met at this count, however many more come alike.</summary>
    public static bool Unreachable(double p, long samples, long misses) => samples > 0 && misses > samples * (1 - p);

    /// <summary>0.99 → "p99", 0.999 → "p999", 0.9 → "p90".</summary>
    public static string PercentileName(double p) =>
        "p" + (p * 100).ToString("0.###", CultureInfo.InvariantCulture).Replace(".", "", StringComparison.Ordinal);

    /// <summary>
    /// The latency objective whose limit counts misses for <paramref name="tail"/>: the one of nearest percentile; null for none.
    /// </summary>
    public static ServiceLevelObjective? LatencyObjective(RunSettings settings, double tail) =>
        settings.Slos.Where(s => s.Metric == "latency").OrderBy(s => Math.Abs(s.Percentile - tail)).FirstOrDefault();

    /// <summary>
    /// The percentiles the tail rule waits for: the one validity judges (<see cref="RunSettings.EffectiveTailPercentile"/>,
    /// on latency), then every SLO's percentile on its own metric. An explicit <see cref="RunSettings.TailPercentile"/>
    /// is the only target: the user chose the tail. Empty for a throughput-only scenario without SLOs. Given the
    /// workload's <paramref name="unit"/>, TTFT and TPOT objectives of a workload without tokens are left out (no sample would come).
    /// </summary>
    public static IReadOnlyList<TailTarget> Targets(RunSettings settings, string? unit = null)
    {
        var targets = new List<TailTarget>();
        if (settings.EffectiveTailPercentile is { } tail)
        {
            string source = settings.TailPercentile is not null ? "--tail"
                : settings.Slos.Any(s => s.Metric == "latency") ? "latency SLO"
                : $"scenario {settings.Scenario.Name}";
            targets.Add(new TailTarget("latency", tail, LatencyObjective(settings, tail)?.LimitMs, source));
        }

        if (settings.TailPercentile is not null)
        {
            return targets;
        }

        foreach (ServiceLevelObjective slo in settings.Slos)
        {
            bool samples = slo.Metric == "latency" || unit is null or "tokens";
            if (samples && !targets.Any(t => t.Metric == slo.Metric && t.Percentile == slo.Percentile))
            {
                targets.Add(new TailTarget(slo.Metric, slo.Percentile, slo.LimitMs, $"{slo.Metric} SLO"));
            }
        }

        return targets;
    }

    /// <summary>
    /// What to tell the user before measuring: how long the tail rule needs at the arrival rate when that is longer
    /// than the minimum duration, and a warning when the maximum duration is shorter still. The rate is an open
    /// loop's own; for a closed loop, the warm-up's (<paramref name="warmupRate"/>, requests per second), which
    /// the engine knows once the warm-up is over. Null when there is nothing to say or no rate is known.
    /// </summary>
    public static TailForecast? Forecast(RunSettings settings, double? warmupRate = null, string? unit = null)
    {
        (double rate, string what, string format) = settings.Scenario is PoissonScenario p
            ? (p.Rate, "", "0.###")
            : (warmupRate ?? 0, " (the warm-up's rate)", "0.#");
        if (!settings.Stop.UntilTail || !(rate > 0) || double.IsInfinity(rate))
        {
            return null;
        }

        TailTarget? longest = Targets(settings, unit).OrderByDescending(t => t.MinimumSamples).FirstOrDefault();
        if (longest is null)
        {
            return null;
        }

        double seconds = longest.MinimumSamples / rate;
        double min = settings.Stop.MinDuration.TotalSeconds, max = settings.Stop.MaxDuration.TotalSeconds;
        var c = CultureInfo.InvariantCulture;
        string need = string.Create(c,
            $"the tail rule needs {longest.Describe(longest.MinimumSamples)}: about {seconds:0} s at {rate.ToString(format, c)} req/s")
            + what;
        if (seconds > max)
        {
            return new(string.Create(c,
                    $"{need}, longer than --max-duration ({max:0.###} s); the run will stop then, too short to judge {longest.Name}. ")
                + "Raise --max-duration or the rate, or give --tail or --min-requests to choose a shorter run.", true);
        }

        return seconds > min
            ? new(need + string.Create(c, $"; measuring goes on past --duration ({min:0.###} s) until it holds ")
                + string.Create(c, $"(at most --max-duration, {max:0.###} s)."), false)
            : null;
    }
}

/// <summary>
/// What the tail rule will take, told before measuring (<see cref="TailRule.Forecast"/>); a warning when it will not hold in time.
/// </summary>
public sealed record TailForecast(string Message, bool Warning)
{
    public override string ToString() => (Warning ? "warning: " : "") + Message;
}
