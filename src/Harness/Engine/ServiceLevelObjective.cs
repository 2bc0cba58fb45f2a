using System.Globalization;
using System.Text.RegularExpressions;

namespace Harness.Engine;

/// <summary>
/// A latency objective such as <c>p99&lt;50ms</c>: the <see cref="Percentile"/> of <see cref="Metric"/>
/// must not exceed <see cref="LimitMs"/>. The run-level check (validity) uses the percentile; goodput
/// counts the requests whose own value is within the limit (DistServe's definition).
/// </summary>
/// <param name="Metric">latency, ttft or tpot.</param>
/// <param name="Percentile">Fraction in (0, 1), e.g. 0.99.</param>
/// <param name="LimitMs">The bound in milliseconds (inclusive: nearest-rank values equal to it pass).</param>
public sealed partial record ServiceLevelObjective(string Metric, double Percentile, double LimitMs)
{
    /// <summary>The metrics an objective may name.</summary>
    public static readonly IReadOnlyList<string> Metrics = ["latency", "ttft", "tpot"];

    public const string Help = "[latency|ttft|tpot][_:]pNN<VALUE(ms|s|us), e.g. p99<50ms or ttft_p99<500ms; comma-separated for several";

    /// <summary>Name of the percentile, e.g. "p99" or "p99.9".</summary>
    public string PercentileName => "p" + (Percentile * 100).ToString("0.###", CultureInfo.InvariantCulture);

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Metric}_{PercentileName}<={LimitMs:0.###}ms");

    /// <summary>Parses one or more comma-separated objectives; bad text becomes one sentence (exit 2).</summary>
    public static IReadOnlyList<ServiceLevelObjective> ParseList(string text)
    {
        var list = new List<ServiceLevelObjective>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            list.Add(Parse(part));
        }

        if (list.Count == 0)
        {
            throw HarnessException.BadInput($"--slo '{text}' names no objective; expected {Help}.");
        }

        return list;
    }

    public static ServiceLevelObjective Parse(string text)
    {
        Match m = Pattern().Match(text.Trim());
        if (!m.Success)
        {
            throw HarnessException.BadInput($"--slo '{text}' is not an objective; expected {Help}.");
        }

        string metric = m.Groups["metric"].Success ? m.Groups["metric"].Value.ToLowerInvariant() : "latency";
        double pct = double.Parse(m.Groups["p"].Value, CultureInfo.InvariantCulture);
        if (pct is <= 0 or >= 100)
        {
            throw HarnessException.BadInput($"--slo '{text}' has percentile p{m.Groups["p"].Value}; it must lie strictly between p0 and p100.");
        }

        double value = double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        double ms = m.Groups["unit"].Value.ToLowerInvariant() switch
        {
            "s" => value * 1000,
            "us" or "µs" => value / 1000,
            _ => value,
        };
        if (ms <= 0)
        {
            throw HarnessException.BadInput($"--slo '{text}' has a limit of zero; give a positive latency.");
        }

        return new ServiceLevelObjective(metric, pct / 100, ms);
    }

    [GeneratedRegex(@"^(?:(?<metric>latency|ttft|tpot)[_:])?p(?<p>\d+(?:\.\d+)?)\s*<=?\s*(?<value>\d+(?:\.\d+)?)\s*(?<unit>ms|s|us|µs)$", RegexOptions.IgnoreCase)]
    private static partial Regex Pattern();
}
