using System.Globalization;
using Harness.Fleet;
using Harness.Measurement;
using Harness.Metrics;

namespace Harness.Reports;

/// <summary>
/// <c>harness merge --html</c>: a fleet merge as a page, drawn from the <see cref="FleetSummary"/> the
/// merge computed: every node with its state, each metric's spread across nodes with the flagged
/// outliers and the disturbed nodes marked, the hardware groups, and the aggregate.
/// </summary>
public static class FleetView
{
    /// <summary>The metrics the outlier rule judges, as the summary names them, with their axes.</summary>
    private static readonly (string Key, string Axis, Func<NodeSummary, double?> Value)[] Metrics =
    [
        (MetricCatalog.ThroughputPerS.Key, "throughput ({0}/s)", n => n.ThroughputPerS),
        ("latency_p50_ms", "p50 latency (ms)", n => n.LatencyP50Ms),
        ("latency_p99_ms", "p99 latency (ms)", n => n.LatencyP99Ms),
    ];

    public static string Render(FleetSummary summary)
    {
        var c = CultureInfo.InvariantCulture;
        FleetAggregate a = summary.Aggregate;
        string suite = summary.Suite is { } s ? $"{s.Workload} on {s.Backend}, {s.Scenario}" : "no readable result";
        var page = new HtmlPage($"fleet: {suite}");
        string state = summary.Healthy ? "healthy" : "needs attention";
        page.Html($"<p class=\"verdict {(summary.Healthy ? "pass" : "regression")}\" data-verdict=\"{(summary.Healthy ? "healthy" : "attention")}\">Fleet {E(state)}: {a.NodesMeasured} of {summary.ExpectedTasks?.ToString(c) ?? a.NodesListed.ToString(c)} tasks measured, {a.NodesFlagged} flagged</p>");
        string pooled = a.LatencyMs is { } l ? string.Create(c, $"; pooled latency p50 {l.P50:0.###} ms, p99 {l.P99:0.###} ms.") : ".";
        page.Paragraph(string.Create(c,
            $"{a.NodesListed} nodes listed: {a.NodesValid} valid, {a.NodesFlagged} flagged, {a.NodesDisturbed} disturbed, {a.NodesFailed} failed, {a.NodesMissing} missing, {a.NodesRefused} refused. Together the measured nodes deliver {a.ThroughputPerS:#,0.##} {a.ThroughputUnit}/s ({a.RequestsOk} requests ok, {a.RequestsFailed} failed){pooled}"));
        page.Warnings(summary.Notes, "Notes");
        foreach ((string key, string axis, Func<NodeSummary, double?> value) in Metrics)
        {
            page.View($"fleet-{key}", $"{key} across nodes", Spread(summary, key, string.Format(c, axis, a.ThroughputUnit ?? "units"), value),
                "No measured node has this figure.",
                key == Metrics[0].Key
                    ? string.Create(c, $"One row per node. Lines: each hardware group's median and the outlier rule's bounds, median ± the larger of {summary.Rule.K:0.##} x 1.4826 x MAD and {summary.Rule.MinDeviation:P0} of the median (the summary's spread and rule). Flagged and disturbed nodes are drawn in their own colours; disturbed nodes are never judged.")
                    : null);
        }

        page.View("fleet-nodes", "Nodes", HtmlPage.Table(
            ["task", "node", "group", "device", "status", $"throughput ({a.ThroughputUnit}/s)", "p50 ms", "p99 ms", "flags", "disturbance or reason"],
            summary.Nodes.Select(n => (IReadOnlyList<string>)
            [
                n.Task?.ToString(c) ?? "-", n.Name, n.Group?.ToString(c) ?? "-", n.Gpu ?? n.Cpu ?? "", n.Status.ToString().ToLowerInvariant(),
                Num(n.ThroughputPerS), Num(n.LatencyP50Ms), Num(n.LatencyP99Ms),
                string.Join("; ", n.Flags.Select(f => $"{f.Metric} {f.Direction}: {f.Reason}")),
                n.Disturbance ?? n.Reason ?? "",
            ])),
            "No node.");
        page.View("fleet-groups", "Hardware groups", summary.Groups.Count == 0 ? null : HtmlPage.Table(
            ["group", "hardware", "nodes", "differs from group 1"],
            summary.Groups.Select(g => (IReadOnlyList<string>)[g.Id.ToString(c), g.Hardware, g.Nodes.ToString(c), string.Join("; ", g.DiffersFromFirst)])),
            "No node result could be read, so no hardware group.");
        page.Paragraph($"Outlier rule: {summary.Rule.Definition} (k = {summary.Rule.K.ToString(c)}, min deviation {summary.Rule.MinDeviation.ToString("P0", c)}, at least {summary.Rule.MinNodes} nodes).", "note");
        return page.Render($"Merged folder: {summary.Source}");
    }

    private static string? Spread(FleetSummary summary, string key, string axis, Func<NodeSummary, double?> value)
    {
        var nodes = summary.Nodes.Where(n => n.Measured && value(n) is not null).ToList();
        if (nodes.Count == 0)
        {
            return null;
        }

        var chart = new SvgChart($"fleet-{key}", $"{key} per node", axis, "node")
        {
            Rows = nodes.Select(n => $"task {n.Task?.ToString(CultureInfo.InvariantCulture) ?? "?"} {n.Name}").ToList(),
            XMin = key.StartsWith("throughput", StringComparison.Ordinal) ? 0 : null,
        };
        (string Name, Func<NodeSummary, bool> Is, int Color)[] kinds =
        [
            ("judged", n => n.Judged && !n.Flags.Any(f => f.Metric == key), 0),
            ("flagged outlier", n => n.Judged && n.Flags.Any(f => f.Metric == key), 1),
            ("disturbed (not judged)", n => !n.Judged, 4),
        ];
        foreach ((string name, Func<NodeSummary, bool> isKind, int color) in kinds)
        {
            chart.Add(name, nodes.Select((n, i) => (n, i)).Where(x => isKind(x.n)).Select(x => (value(x.n)!.Value, (double)x.i)), lines: false, markers: true, colorIndex: color);
        }

        // With one hardware group the merge keeps the spread at the top; with several, per group.
        var groups = summary.Groups.Count > 1
            ? summary.Groups.Select(g => (Label: $"group {g.Id} ", Spread: g.Spread.GetValueOrDefault(key)))
            : [("", summary.Spread.GetValueOrDefault(key))];
        foreach ((string label, SpreadSummary? spread) in groups)
        {
            if (spread is null)
            {
                continue;
            }

            chart.AddRule(ChartAxis.X, spread.Median, string.Create(CultureInfo.InvariantCulture, $"{label}median {spread.Median:0.###}"), colorIndex: 2, dashed: false);
            if (spread.Mad > 0 && spread.Count >= summary.Rule.MinNodes)
            {
                // Flagged beyond both: k robust deviations and the minimum relative distance.
                double reach = Math.Max(summary.Rule.K * Statistics.MadToSigma * spread.Mad, summary.Rule.MinDeviation * Math.Abs(spread.Median));
                chart.AddRule(ChartAxis.X, spread.Median - reach, $"{label}rule bound", colorIndex: 6);
                chart.AddRule(ChartAxis.X, spread.Median + reach, $"{label}rule bound", colorIndex: 6);
            }
        }

        return chart.Render();
    }

    private static string Num(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "";

    private static string E(string s) => SvgChart.Esc(s);
}
