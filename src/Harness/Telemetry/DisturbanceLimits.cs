using System.Globalization;

namespace Harness.Telemetry;

/// <summary>
/// How much disturbance a run may see and still be valid (the quiet-host rule). Defaults: other
/// processes 10% of one core, 2% steal, no other process on the GPU, thermal or hardware slowdown
/// for at most 10% of the window. <c>--max-interference</c> changes them, <c>--allow-noisy</c>
/// keeps a disturbed run valid but flagged. The thresholds themselves (and what the result records)
/// are <see cref="DisturbanceThresholds"/>.
/// </summary>
public sealed record DisturbanceLimits : DisturbanceThresholds
{
    public const string Option = "--max-interference";

    public static DisturbanceLimits Default { get; } = new();

    public const string Syntax = "cpu=CORES (or N% of one core), steal=PERCENT, gpu=PROCESSES, throttle=PERCENT of the window; comma-separated, e.g. cpu=0.5,steal=5%";

    /// <summary>Parses "cpu=0.5,steal=5%,gpu=1,throttle=20%" over the defaults; each mistake is one sentence of bad input.</summary>
    public static DisturbanceLimits Parse(IEnumerable<string> texts, bool allowNoisy = false)
    {
        DisturbanceLimits limits = Default with { AllowNoisy = allowNoisy };
        foreach (string part in texts.SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            int eq = part.IndexOf('=');
            string key = eq > 0 ? part[..eq].Trim().ToLowerInvariant() : "";
            string value = eq > 0 ? part[(eq + 1)..].Trim() : "";
            bool percent = value.EndsWith('%');
            if (!double.TryParse(value.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < 0 || !double.IsFinite(v))
            {
                throw HarnessException.BadInput($"{Option} '{part}' is not KEY=NUMBER; write {Syntax}.");
            }

            limits = key switch
            {
                "cpu" => limits with { MaxOtherCores = percent ? v / 100 : v },
                "steal" when v <= 100 => limits with { MaxStealShare = v / 100 },
                "gpu" when !percent && v == Math.Floor(v) => limits with { MaxGpuNeighbours = (int)Math.Min(v, int.MaxValue) },
                "throttle" when v <= 100 => limits with { MaxHardwareThrottleShare = v / 100 },
                "cpu" or "steal" or "gpu" or "throttle" => throw HarnessException.BadInput($"{Option} '{part}' is out of range; write {Syntax}."),
                _ => throw HarnessException.BadInput($"{Option} '{part}' names an unknown limit '{key}'; write {Syntax}."),
            };
        }

        return limits;
    }
}
