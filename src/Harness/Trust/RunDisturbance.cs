using System.Globalization;
using Harness.Results;
using Harness.Telemetry;
using Harness.Trust.Disturbance;

namespace Harness.Trust;

/// <summary>
/// Whether one result was disturbed, as compare, merge and report read it: the verdict the run
/// recorded, or, for files written before runs measured disturbance, an estimate from their CPU
/// telemetry (machine busy minus the harness process: an upper bound, since it also counts steal
/// and interrupts), judged by the given limits.
/// </summary>
/// <param name="Measured">False when the file holds nothing to judge by.</param>
/// <param name="How">"measured", or how it was estimated, or why it could not be.</param>
public sealed record RunDisturbance(bool Measured, bool Disturbed, bool AllowedNoisy, IReadOnlyList<string> Causes, string How)
{
    /// <summary>Disturbed and not allowed noisy: evidence a comparison cannot use.</summary>
    public bool Blocks => Disturbed && !AllowedNoisy;

    public static RunDisturbance Of(ResultDocument doc, DisturbanceLimits limits)
    {
        if (doc.Telemetry?.Disturbance is { Disturbed: { } disturbed } d)
        {
            return new RunDisturbance(true, disturbed, d.AllowedNoisy, d.Causes, "measured");
        }

        if (doc.Telemetry?.Cpu is { UtilizationAvg: { } busy, ProcessCpuCores: { } own, LogicalCores: > 0 } cpu)
        {
            double other = Math.Max(0, busy * cpu.LogicalCores - own);
            bool over = other > limits.MaxOtherCores;
            return new RunDisturbance(true, over, over && limits.AllowNoisy,
                over ? [DisturbanceJudge.OtherProcesses(other, other / cpu.LogicalCores, limits.MaxOtherCores)] : [],
                string.Create(CultureInfo.InvariantCulture, $"estimated from telemetry.cpu (machine busy {busy:0%} of {cpu.LogicalCores} cores minus the harness's {own:0.##}; an upper bound that includes steal and interrupts)"));
        }

        return new RunDisturbance(false, false, false, [], doc.Telemetry is { Enabled: true } ? "no CPU telemetry in the result" : "telemetry was off");
    }
}
