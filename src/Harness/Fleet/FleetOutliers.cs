using Harness.Measurement;
using Harness.Metrics;
using Harness.Results;
using Harness.Trust.Comparability;
using static System.FormattableString;

namespace Harness.Fleet;

/// <summary>
/// Which measured nodes stand out: the nodes are grouped by what moves speed, and within a group a node
/// is flagged when it lies beyond k robust deviations (MAD x 1.4826) from the group's median and beyond
/// the relative noise floor (Iglewicz and Hoaglin's modified z-score); a node whose GPU throttled is
/// flagged too. Fills the spread of each judged figure.
/// </summary>
internal static class FleetOutliers
{
    /// <summary>
    /// What a node is judged on: its name in the fleet summary, its label, the catalog metric whose
    /// direction says which side is slow, and its value.
    /// </summary>
    private static readonly (string Name, string Label, MetricDefinition Metric, Func<NodeSummary, double?> Value)[] Judged =
    [
        (FleetMetricNames.ThroughputPerS, "throughput", MetricCatalog.ThroughputPerS, n => n.ThroughputPerS),
        (FleetMetricNames.LatencyP50Ms, "latency p50", MetricCatalog.LatencyMs, n => n.LatencyP50Ms),
        (FleetMetricNames.LatencyP99Ms, "latency p99", MetricCatalog.LatencyMs, n => n.LatencyP99Ms),
    ];

    /// <summary>
    /// Puts the nodes with a result into groups by what moves speed (<see cref="ComparabilityRule.SpeedKey"/>):
    /// a fleet of two CPU generations is two fleets as far as outliers go.
    /// </summary>
    public static void Group(FleetSummary summary, List<LoadedFile> files)
    {
        var byPath = files.Where(f => f.Document is not null && f.Refusal is null).ToDictionary(f => f.RelativePath);
        var keyed = summary.Nodes
            .Select(n => (Node: n, Doc: n.File is { } p && byPath.TryGetValue(p, out LoadedFile? f) ? f.Document : null))
            .Where(x => x.Doc is not null)
            .GroupBy(x => ComparabilityRule.SpeedKey(x.Doc!) ?? "(hardware not recorded)")
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Min(x => x.Node.Task ?? int.MaxValue))
            .ToList();
        ResultDocument? first = keyed.FirstOrDefault()?.First().Doc;
        for (int i = 0; i < keyed.Count; i++)
        {
            ResultDocument doc = keyed[i].First().Doc!;
            var group = new FleetGroup
            {
                Id = i + 1,
                Hardware = ComparabilityRule.Describe(doc.Hardware),
                Nodes = keyed[i].Count(),
                DiffersFromFirst = i == 0 ? [] : ComparabilityRule.Differences(first!, doc, "group 1 vs this group")
                    .Where(d => d.MovesSpeed && d.Area != DifferenceArea.Workload).Select(d => d.ToString()).ToList(),
            };
            summary.Groups.Add(group);
            foreach ((NodeSummary node, _) in keyed[i])
            {
                node.Group = group.Id;
            }
        }

        if (summary.Groups.Count > 1)
        {
            string groups = string.Join("; ", summary.Groups.Select(g => $"group {g.Id}: {g.Nodes} x {g.Hardware}"));
            summary.Notes.Add($"The fleet is heterogeneous: {summary.Groups.Count} hardware groups ({groups}). "
                + "Outliers are judged within a group, never across.");
        }
    }

    public static void Flag(FleetSummary summary)
    {
        foreach (IGrouping<int?, NodeSummary> group in summary.Nodes.Where(n => n.Judged).GroupBy(n => n.Group))
        {
            FleetGroup? g = summary.Groups.FirstOrDefault(x => x.Id == group.Key);
            Dictionary<string, SpreadSummary> spread = summary.Groups.Count <= 1 ? summary.Spread : g?.Spread ?? summary.Spread;
            Flag(summary, group.ToList(), spread);
        }

        foreach (NodeSummary node in summary.Nodes.Where(n => n.Measured && n.ThrottleS is > 0))
        {
            node.Flags.Add(new OutlierFlag(FleetMetricNames.ThrottleS, node.ThrottleS!.Value, 0, null, "throttled",
                Invariant($"the telemetry reports {node.ThrottleS:0.###} s of clock throttling")));
        }
    }

    private static void Flag(FleetSummary summary, List<NodeSummary> measured, Dictionary<string, SpreadSummary> spread)
    {
        foreach ((string name, string label, MetricDefinition metric, Func<NodeSummary, double?> value) in Judged)
        {
            bool higherIsSlower = metric.Better == Better.Lower;
            var values = measured
                .Select(n => (Node: n, Value: value(n)))
                .Where(p => p.Value is { } v && double.IsFinite(v))
                .Select(p => (p.Node, Value: p.Value!.Value))
                .ToList();
            if (values.Count == 0)
            {
                continue;
            }

            double[] xs = values.Select(p => p.Value).ToArray();
            double median = Statistics.Median(xs);
            double mad = Statistics.MedianAbsoluteDeviation(xs, median);
            (double mean, double sd) = Statistics.MeanAndStdDev(xs);
            spread[name] = new SpreadSummary
            {
                Count = xs.Length,
                Median = median,
                Mad = mad,
                Min = xs.Min(),
                Max = xs.Max(),
                Cv = mean != 0 ? sd / mean : 0,
            };
            if (xs.Length < summary.Rule.MinNodes)
            {
                continue;
            }

            double sigma = Statistics.MadToSigma * mad;
            foreach ((NodeSummary node, double x) in values)
            {
                double d = x - median;
                double? z = sigma > 0 ? d / sigma : null;
                bool beyondK = z is { } zz ? Math.Abs(zz) > summary.Rule.K : d != 0;
                double relative = median != 0 ? Math.Abs(d / median) : (d != 0 ? double.PositiveInfinity : 0);
                if (!beyondK || relative <= summary.Rule.MinDeviation)
                {
                    continue;
                }

                bool slow = higherIsSlower ? d > 0 : d < 0;
                string distance = z is { } zv
                    ? Invariant($"{Math.Abs(zv):0.0} robust deviations")
                    : "away from the others, which agree exactly,";
                string side = d > 0 ? "above" : "below";
                string percent = median != 0 ? Invariant($" ({d / median:+0.0%;-0.0%})") : "";
                string reference = summary.Groups.Count > 1 ? "its group's median" : "the fleet median";
                node.Flags.Add(new OutlierFlag(name, x, median, z, slow ? "slow" : "fast",
                    Invariant($"{label} {x:0.###} is {distance} {side} {reference} {median:0.###}{percent}")));
            }
        }
    }
}
