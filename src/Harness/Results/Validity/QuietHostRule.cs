using System.Globalization;
using Harness.Engine;
using Harness.Telemetry;
using Harness.Validity;

namespace Harness.Results.Validity;

/// <summary>
/// The <c>quiet_host</c> validity condition: fails when the run's machine was disturbed beyond the
/// limits (other processes, steal, GPU neighbours, thermal slowdown), naming the cause; passes with
/// the cause when the run was allowed noisy, and says so when disturbance was not measured.
/// Expects <c>Trust.Disturbance.DisturbanceJudge.Apply</c> to have judged the section.
/// </summary>
public sealed class QuietHostRule(TelemetryReport? telemetry) : IValidityRule
{
    public const string Name = ConditionNames.QuietHost;

    public ValidityCondition Evaluate(EngineResult run) => Judge();

    /// <summary>The condition for any measurement (it reads the telemetry only).</summary>
    public ValidityCondition Judge()
    {
        if (telemetry?.Disturbance is not { Disturbed: not null } d)
        {
            string why = telemetry is null ? "telemetry was not recorded" : telemetry.Enabled ? "no disturbance figure could be read here" : telemetry.Note ?? "telemetry is off";
            return new(Name, true, $"disturbance not measured ({why})");
        }

        if (d.Disturbed == true)
        {
            string causes = string.Join("; ", d.Causes);
            return d.AllowedNoisy
                ? new(Name, true, $"NOISY, allowed by --allow-noisy: {causes}")
                : new(Name, false, causes);
        }

        var parts = new List<string>();
        if (d.OtherProcessesCores is { } cores)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"other processes {cores:0.###} cores"));
        }

        if (d.ServerProcessCores is { } server)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"the server under test {server:0.###} cores (not counted)"));
        }

        if (d.StealShare is { } steal)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"steal {steal:0.0%}"));
        }

        parts.AddRange(d.Gpus.Where(g => g.OtherProcesses is not null).Select(g => $"GPU {g.Index}: {g.OtherProcesses} other process(es)"));
        return new(Name, true, $"quiet: {(parts.Count > 0 ? string.Join(", ", parts) : "nothing measured over its limit")} (limits: {d.Limits?.Describe()})");
    }
}
