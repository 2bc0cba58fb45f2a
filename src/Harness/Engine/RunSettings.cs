using Harness.Engine.Scenarios;

namespace Harness.Engine;

/// <summary>Warm-up before measuring: by request count or by duration. Never in the results.</summary>
public sealed record WarmupRule(int? Requests, TimeSpan? Duration)
{
    public static readonly WarmupRule None = new(0, null);

    public static WarmupRule ForRequests(int n) => new(n, null);

    public static WarmupRule ForDuration(TimeSpan d) => new(null, d);

    public override string ToString() => Requests is { } n ? $"{n} requests" : $"{Duration!.Value.TotalSeconds:0.###}s";
}

/// <summary>
/// When the measured phase stops issuing requests: once it has run at least <see cref="MinDuration"/>
/// AND issued at least <see cref="MinRequests"/> AND, with <see cref="UntilTail"/>, has the samples the
/// tail rule needs (<see cref="TailRule"/>); or at <see cref="MaxDuration"/> whatever it has.
/// </summary>
public sealed record StopRules(TimeSpan MinDuration, long MinRequests, TimeSpan MaxDuration, bool UntilTail = false)
{
    public static readonly StopRules Default = new(TimeSpan.FromSeconds(30), 100, TimeSpan.FromMinutes(10));
}

/// <summary>The effective settings of one run; saved whole in the result's config.</summary>
public sealed record RunSettings
{
    public required IScenario Scenario { get; init; }

    public int Batch { get; init; } = 1;

    public WarmupRule Warmup { get; init; } = WarmupRule.ForDuration(TimeSpan.FromSeconds(5));

    public StopRules Stop { get; init; } = StopRules.Default;

    /// <summary>A request that ends later than this counts as a timeout; null for none.</summary>
    public TimeSpan? RequestTimeout { get; init; }

    /// <summary>Largest share of failed requests (error, timeout) for a valid result.</summary>
    public double MaxErrorRate { get; init; }

    public int Seed { get; init; } = 42;

    /// <summary>Tail percentile whose sample count decides validity; null takes the SLO's, then the scenario's.</summary>
    public double? TailPercentile { get; init; }

    /// <summary>Latency objectives: checked for validity and counted per request for goodput. Empty for none.</summary>
    public IReadOnlyList<ServiceLevelObjective> Slos { get; init; } = [];

    /// <summary>The percentile whose sample count decides validity: explicit, else the latency SLO's, else the scenario's.</summary>
    public double? EffectiveTailPercentile =>
        TailPercentile ?? Slos.FirstOrDefault(s => s.Metric == "latency")?.Percentile ?? Scenario.TargetTail;
}
