using Harness.Engine;
using Harness.Telemetry;
using Harness.Validity;
using static System.FormattableString;

namespace Harness.Results.Validity;

/// <summary>
/// When a result reports energy, the sampler behind it was alive for the whole window: readings at
/// both edges, no gap longer than <see cref="TelemetrySampler.AllowedGap"/>, and no hung last reading.
/// A run without energy figures passes: there is nothing to trust or distrust.
/// </summary>
public sealed class TelemetryAliveRule(TelemetryReport? report, TimeSpan allowedGap) : IValidityRule
{
    public const string Name = ConditionNames.TelemetryAlive;

    public ValidityCondition Evaluate(EngineResult run) => Judge();

    /// <summary>The condition for any measurement (it reads the telemetry only).</summary>
    public ValidityCondition Judge()
    {
        if (report?.Energy is not { } energy)
        {
            string why = report is null ? "telemetry was not recorded" : report.Enabled ? "no energy could be measured here" : report.Note ?? "telemetry is off";
            return new(Name, true, $"no energy reported ({why})");
        }

        var sources = energy.Parts.Select(p => p.StartsWith("gpu", StringComparison.Ordinal) ? "gpu" : "cpu").Distinct();
        var problems = new List<string>();
        var fine = new List<string>();
        foreach (string name in sources)
        {
            SourceHealth? h = report.Sources.FirstOrDefault(s => s.Name == name);
            if (h is null)
            {
                problems.Add($"{name}: no sampling record");
                continue;
            }

            if (h.Stalled)
            {
                problems.Add($"{name}: the last reading hung");
            }

            if (!h.CoversWindow)
            {
                problems.Add($"{name}: readings do not bracket the window");
            }

            if (h.MaxGapS is { } gap && gap > allowedGap.TotalSeconds)
            {
                problems.Add(Invariant($"{name}: {gap:0.###} s without a reading (at most {allowedGap.TotalSeconds:0.###} s allowed)"));
            }

            fine.Add(Invariant($"{name}: {h.Samples} readings, longest gap {h.MaxGapS ?? 0:0.###} s"));
        }

        return problems.Count == 0
            ? new(Name, true, $"energy reported and the sampler was alive ({string.Join("; ", fine)})")
            : new(Name, false, $"energy reported but {string.Join("; ", problems)}");
    }
}
