using Harness.Engine;
using Harness.Measurement;
using Harness.Validity;
using static System.FormattableString;

namespace Harness.Results.Validity;

/// <summary>The measured phase lasted at least the minimum duration.</summary>
public sealed class MinDurationRule : IValidityRule
{
    public ValidityCondition Evaluate(EngineResult run) => Judge(run.MeasuredWindow, run.Settings.Stop.MinDuration);

    /// <summary>The condition for any measured window (requests or not).</summary>
    public static ValidityCondition Judge(MeasuredWindow window, TimeSpan minimum)
    {
        double need = minimum.TotalSeconds;
        double had = window.Seconds;
        return new(ConditionNames.MinDuration, had >= need, Invariant($"{had:0.###} s measured, {need:0.###} s required"));
    }
}

/// <summary>At least the minimum number of requests were issued and ended.</summary>
public sealed class MinRequestsRule : IValidityRule
{
    public ValidityCondition Evaluate(EngineResult run)
    {
        long need = run.Settings.Stop.MinRequests;
        long had = run.TotalRequests;
        return new(ConditionNames.MinRequests, had >= need, Invariant($"{had} requests, {need} required"));
    }
}

/// <summary>Errors and timeouts stay under the allowed share (default: none).</summary>
public sealed class ErrorRateRule : IValidityRule
{
    public ValidityCondition Evaluate(EngineResult run)
    {
        long failed = run.Count(RequestOutcome.Error) + run.Count(RequestOutcome.Timeout);
        long total = Math.Max(1, run.TotalRequests);
        double rate = (double)failed / total;
        double max = run.Settings.MaxErrorRate;
        return new(ConditionNames.ErrorRate, run.TotalRequests > 0 && rate <= max,
            Invariant($"{failed} of {run.TotalRequests} requests failed ({rate:P2}); at most {max:P2} allowed"));
    }
}

/// <summary>The run was not cut short by Ctrl-C.</summary>
public sealed class NotCancelledRule : IValidityRule
{
    public ValidityCondition Evaluate(EngineResult run) => Judge(run.Cancelled);

    /// <summary>The condition for any measurement.</summary>
    public static ValidityCondition Judge(bool cancelled) => cancelled
        ? new(ConditionNames.NotCancelled, false, "the run was cancelled before its stop rules were met")
        : new(ConditionNames.NotCancelled, true, "the run ended by its stop rules");
}

/// <summary>
/// Enough requests for the target tail percentile to be trusted: the tail rule (<see cref="TailRule"/>,
/// MLPerf's early-stopping bound, tolerance 0, confidence 99%). With no miss p90 needs 44 requests and
/// p99 459; every miss raises the bound (p99: 662 with one, 1,307 with five). Misses are requests over
/// the latency SLO's limit and timeouts; without a latency SLO only timeouts can miss. The engine waits
/// for the same bound when the run's stop rules say so (<see cref="StopRules.UntilTail"/>).
/// </summary>
public sealed class TailSamplesRule : IValidityRule
{
    public ValidityCondition Evaluate(EngineResult run)
    {
        if (run.Settings.EffectiveTailPercentile is not { } tail)
        {
            return new(ConditionNames.EnoughSamplesForTail, true, "no tail percentile is targeted by this scenario (throughput only)");
        }

        string name = TailRule.PercentileName(tail);
        ServiceLevelObjective? slo = TailRule.LatencyObjective(run.Settings, tail);
        long timeouts = run.Count(RequestOutcome.Timeout);
        long over = slo is null ? 0 : run.Latency.CountAbove((long)(slo.LimitMs / 1000 * run.Frequency));
        long misses = timeouts + over;
        long had = run.Latency.Count + timeouts;
        string missText = slo is null
            ? Invariant($"{timeouts} timed out")
            : Invariant($"{misses} over {slo.LimitMs:0.###} ms or timed out");
        if (TailRule.Unreachable(tail, had, misses))
        {
            return new(ConditionNames.EnoughSamples(name), false,
                Invariant($"{had} requests, {missText}: more than {(1 - tail) * 100:0.###}% missed, so {name} cannot be met at any count"));
        }

        long need = TailRule.Needed(tail, misses);
        return new(ConditionNames.EnoughSamples(name), had >= need,
            Invariant($"{had} requests ({missText}), {need} needed for {name} at 99% confidence"));
    }
}

/// <summary>
/// When SLOs are given, each objective's percentile is within its limit (MLPerf's "performance
/// constraints satisfied"). Percentiles are nearest-rank over the ok requests.
/// </summary>
public sealed class SloRule : IValidityRule
{
    public ValidityCondition Evaluate(EngineResult run)
    {
        IReadOnlyList<ServiceLevelObjective> slos = run.Settings.Slos;
        if (slos.Count == 0)
        {
            return new(ConditionNames.Slo, true, "no SLO given");
        }

        bool all = true;
        var parts = new List<string>();
        foreach (ServiceLevelObjective slo in slos)
        {
            SampleRecorder samples = slo.Metric switch
            {
                "ttft" => run.TimeToFirstToken,
                "tpot" => run.TimePerOutputToken,
                _ => run.Latency,
            };
            if (samples.Count == 0)
            {
                all = false;
                parts.Add($"{slo.Metric} {slo.PercentileName}: no {slo.Metric} samples");
                continue;
            }

            double ms = samples.ValueAtPercentile(slo.Percentile) * 1000.0 / run.Frequency;
            bool met = ms <= slo.LimitMs;
            all &= met;
            parts.Add(Invariant($"{slo.Metric} {slo.PercentileName} {ms:0.###} ms {(met ? "<=" : ">")} {slo.LimitMs:0.###} ms"));
        }

        return new(ConditionNames.Slo, all, string.Join("; ", parts));
    }
}

/// <summary>An open-loop run kept up with its arrival schedule (LoadGen's "too many outstanding queries" error).</summary>
public sealed class NotOverloadedRule : IValidityRule
{
    public ValidityCondition Evaluate(EngineResult run) => run.StopReason == StopReason.Overloaded
        ? new(ConditionNames.NotOverloaded, false,
            "the backlog fell too far behind the arrival schedule: the offered rate exceeds capacity")
        : new(ConditionNames.NotOverloaded, true, "every request started within the scenario's queueing bound");
}

/// <summary>
/// The monotonic clock and the wall clock agree over the window within 1% (LoadGen's rule), so a
/// stalled or jumping timer cannot pass unnoticed.
/// </summary>
public sealed class ClockAnomalyRule : IValidityRule
{
    public ValidityCondition Evaluate(EngineResult run) => Judge(run.MeasuredWindow);

    /// <summary>The condition for any measured window (requests or not).</summary>
    public static ValidityCondition Judge(MeasuredWindow window)
    {
        double mono = window.Monotonic > 0 ? (double)window.Monotonic / window.Frequency : window.Seconds;
        double wall = window.Wall.TotalSeconds;
        if (wall < 1)
        {
            return new(ConditionNames.Clock, true, Invariant($"window of {wall:0.###} s is too short to compare clocks"));
        }

        // 1% as LoadGen, plus how far apart the two clocks' readings could be at the window's edges
        // (measured when they were read: a preemption between the reads on a loaded machine), plus a
        // millisecond for the wall clock's granularity.
        double pairing = (double)window.ClockUncertaintyTicks / window.Frequency;
        double drift = Math.Abs(mono - wall);
        bool ok = drift <= (0.01 * wall) + pairing + 0.001;
        return new(ConditionNames.Clock, ok, Invariant($"monotonic {mono:0.###} s vs wall {wall:0.###} s ({drift / wall:P2} apart, at most 1% allowed, plus {pairing * 1000:0.###} ms of reading uncertainty)"));
    }
}

/// <summary>The rules every run is judged by; later features add theirs to the list.</summary>
public static class DefaultValidityRules
{
    public static IReadOnlyList<IValidityRule> All { get; } =
    [
        new MinDurationRule(), new MinRequestsRule(), new ErrorRateRule(), new NotCancelledRule(),
        new TailSamplesRule(), new SloRule(), new NotOverloadedRule(), new ClockAnomalyRule(),
    ];

    public static IReadOnlyList<ValidityCondition> Evaluate(EngineResult run, IEnumerable<IValidityRule>? rules = null) =>
        (rules ?? All).Select(r => r.Evaluate(run)).ToList();

    /// <summary>
    /// The rules of <see cref="All"/> that judge the window alone (min_duration, not_cancelled, clock), for a measurement
    /// without requests (agents): the request rules have nothing to count there, and the measurement brings its own.
    /// </summary>
    public static IReadOnlyList<ValidityCondition> EvaluateWindow(MeasuredWindow window, RunSettings settings, bool cancelled) =>
        [MinDurationRule.Judge(window, settings.Stop.MinDuration), NotCancelledRule.Judge(cancelled), ClockAnomalyRule.Judge(window)];
}
