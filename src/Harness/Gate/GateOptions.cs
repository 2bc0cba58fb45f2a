using System.Globalization;
using System.Text.RegularExpressions;
using Harness.Telemetry;
using Harness.Trust.Noise;

namespace Harness.Gate;

/// <summary>How strict the gate is. Defaults follow ../shared/research/reliability.md §2: alpha 0.05, 10% threshold.</summary>
public sealed record GateOptions
{
    public const double DefaultThresholdPct = 10;

    /// <summary>One-sided significance level of each metric's test.</summary>
    public double Alpha { get; init; } = 0.05;

    /// <summary>Relative change (percent) below which a significant change is still a pass.</summary>
    public double DefaultThreshold { get; init; } = DefaultThresholdPct;

    /// <summary>Per-metric thresholds in percent; they also add their metric to the comparison.</summary>
    public IReadOnlyDictionary<string, double> Thresholds { get; init; } = new Dictionary<string, double>();

    /// <summary>Metrics to compare; null for <see cref="GateMetric.DefaultNames"/> plus those in <see cref="Thresholds"/>.</summary>
    public IReadOnlyList<string>? Metrics { get; init; }

    /// <summary>Latency differences smaller than this many milliseconds are noise, whatever their ratio.</summary>
    public double NoiseFloorMs { get; init; } = 0.01;

    /// <summary>Resamples of the block bootstrap that gives each run its own interval.</summary>
    public int BootstrapResamples { get; init; } = 200;

    public int Seed { get; init; } = 20240601;

    /// <summary>Go on when the runs differ in hardware or runtimes (every view then says so).</summary>
    public bool AllowHardwareChange { get; init; }

    /// <summary>Go on when the runs differ in the workload's own settings (every view then says so).</summary>
    public bool AllowConfigChange { get; init; }

    /// <summary>An A/B job: the configurations differ by design, and are named as what was compared.</summary>
    public bool ComparingConfigurations { get; init; }

    /// <summary>Disturbed runs are flagged instead of making the comparison inconclusive.</summary>
    public bool AllowNoisy { get; init; }

    /// <summary>Limits for results that do not record their own quiet-host verdict (written before it existed).</summary>
    public DisturbanceLimits Interference { get; init; } = DisturbanceLimits.Default;

    /// <summary>BASE is a history of past runs: read recursively, newest first, <see cref="Window"/> comparable runs.</summary>
    public bool BaseIsHistory { get; init; }

    /// <summary>Runs of a history kept, newest first.</summary>
    public int Window { get; init; } = RunHistory.DefaultWindow;

    /// <summary>A folder of past runs whose run-to-run spread is the noise model when the sides alone cannot measure it.</summary>
    public string? NoiseModelFolder { get; init; }

    /// <summary>The run-to-run CV assumed, only to say how many runs would resolve a change when none was measured.</summary>
    public double PlanCv { get; init; } = 0.08;

    /// <summary>Probability of finding a change of the size stated (the smallest detectable change, the runs a plan proposes).</summary>
    public double Power { get; init; } = RunPlanning.DefaultPower;

    public double ThresholdFor(string metric) => Thresholds.TryGetValue(metric, out double t) ? t : DefaultThreshold;

    /// <summary>Checks the numbers a user typed; each problem is one sentence (exit 2).</summary>
    public GateOptions Validated()
    {
        if (Alpha is <= 0 or > 0.5 || double.IsNaN(Alpha))
        {
            throw HarnessException.BadInput($"--alpha {Alpha.ToString(CultureInfo.InvariantCulture)} must lie in (0, 0.5], e.g. 0.05.");
        }

        if (NoiseFloorMs < 0)
        {
            throw HarnessException.BadInput("--noise-floor must not be negative.");
        }

        if (PlanCv is <= 0 or >= 1 || double.IsNaN(PlanCv))
        {
            throw HarnessException.BadInput($"--plan-cv {PlanCv.ToString(CultureInfo.InvariantCulture)} must lie in (0, 1), e.g. 0.08 for 8%.");
        }

        if (Window < 2)
        {
            throw HarnessException.BadInput($"--window {Window} must be at least 2: a history of one run has no spread.");
        }

        if (Metrics is not null)
        {
            foreach (string m in Metrics)
            {
                _ = GateMetric.Find(m) ?? throw HarnessException.BadInput($"Unknown metric '{m}'; known metrics: {GateMetric.KnownNames}.");
            }
        }

        return this;
    }
}

/// <summary>Parses <c>--threshold METRIC=PCT</c> (or a bare <c>PCT</c> for every metric).</summary>
public static partial class GateThresholds
{
    public static (double? Default, Dictionary<string, double> PerMetric) Parse(IEnumerable<string> texts)
    {
        double? all = null;
        var per = new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase);
        foreach (string text in texts)
        {
            int eq = text.IndexOf('=');
            string metric = eq >= 0 ? text[..eq].Trim() : "";
            string value = eq >= 0 ? text[(eq + 1)..] : text;
            double pct = Percentage(value, text);
            if (eq < 0)
            {
                all = pct;
                continue;
            }

            GateMetric m = (metric.Length > 0 ? GateMetric.Find(metric) : null)
                ?? throw HarnessException.BadInput($"--threshold '{text}' names an unknown metric '{metric}'; known metrics: {GateMetric.KnownNames}.");
            per[m.Name] = pct;
        }

        return (all, per);
    }

    private static double Percentage(string value, string text)
    {
        Match match = PercentPattern().Match(value.Trim());
        if (!match.Success)
        {
            throw HarnessException.BadInput($"--threshold '{text}' is not a percentage; write METRIC=PCT such as latency_p99=5%.");
        }

        double pct = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        if (pct is <= 0 or >= 1000)
        {
            throw HarnessException.BadInput($"--threshold '{text}' must be a percentage above 0% and below 1000%.");
        }

        return pct;
    }

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)\s*%?$")]
    private static partial Regex PercentPattern();
}
