using System.Globalization;
using System.Text.RegularExpressions;

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

    public int BootstrapResamples { get; init; } = 1000;

    public int Seed { get; init; } = 20240601;

    /// <summary>Per-request samples pooled per side at most (thinned evenly beyond), to bound the bootstrap's cost.</summary>
    public int MaxSamplesPerSide { get; init; } = 50_000;

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

            GateMetric m = GateMetric.Find(metric)
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
