using Harness.Measurement;

namespace Harness.Fleet;

/// <summary>
/// The fleet as one: counts of nodes by state, the work all measured nodes did together, their pooled
/// latency, whether the fleet is healthy, and the notes a reader needs to read the figures right.
/// </summary>
internal static class FleetAggregator
{
    public static FleetAggregate Aggregate(List<NodeSummary> nodes, List<LoadedFile> files)
    {
        var measured = nodes.Where(n => n.Measured).ToList();
        var aggregate = new FleetAggregate
        {
            NodesListed = nodes.Count,
            NodesMeasured = measured.Count,
            NodesValid = nodes.Count(n => n.Status == NodeStatus.Ok),
            NodesFlagged = nodes.Count(n => n.Outlier),
            NodesFailed = nodes.Count(n => n.Status == NodeStatus.Failed),
            NodesMissing = nodes.Count(n => n.Status == NodeStatus.Missing),
            NodesRefused = nodes.Count(n => n.Status == NodeStatus.Refused),
            NodesDisturbed = nodes.Count(n => n.Status == NodeStatus.Disturbed),
            ThroughputPerS = measured.Sum(n => n.ThroughputPerS ?? 0),
            ThroughputUnit = measured.Select(n => n.ThroughputUnit).FirstOrDefault(u => u is not null),
            RequestsOk = measured.Sum(n => n.RequestsOk ?? 0),
            RequestsFailed = measured.Sum(n => n.RequestsFailed ?? 0),
        };

        // Pool the per-request samples; only when every node kept them at the same stride, so that
        // each node weighs by its request count.
        var byPath = files.Where(f => f.Document is not null).ToDictionary(f => f.RelativePath);
        var samples = measured
            .Select(n => n.File is { } p && byPath.TryGetValue(p, out LoadedFile? f) ? f.Document!.Samples : null)
            .ToList();
        if (measured.Count == 0)
        {
            aggregate.LatencyNote = "no node was measured";
        }
        else if (samples.Any(s => s is null || s.LatencyMs.Length == 0))
        {
            aggregate.LatencyNote = "not pooled: a node's result holds no per-request samples";
        }
        else if (samples.Select(s => s!.Stride).Distinct().Count() > 1)
        {
            aggregate.LatencyNote = "not pooled: the nodes kept every k-th sample with different k";
        }
        else
        {
            double[] pooled = samples.SelectMany(s => s!.LatencyMs).ToArray();
            aggregate.LatencyMs = DistributionSummary.FromMilliseconds(pooled);
            aggregate.LatencyNote = "pooled per-request samples of all measured nodes";
        }

        return aggregate;
    }

    /// <summary>Every expected task measured, valid and unflagged, and nothing refused.</summary>
    public static bool Healthy(FleetSummary summary) =>
        summary.Nodes.Count > 0
        && summary.Nodes.All(n => n.Status == NodeStatus.Ok && !n.Outlier)
        && (summary.ExpectedTasks is not { } expected || Enumerable.Range(0, expected).All(i => summary.Nodes.Any(n => n.Task == i)));

    public static void AddNotes(FleetSummary summary)
    {
        int measured = summary.Nodes.Count(n => n.Judged);
        if (summary.Aggregate.NodesDisturbed > 0)
        {
            summary.Notes.Add($"{summary.Aggregate.NodesDisturbed} node(s) were disturbed while measuring "
                + "(other processes, steal or GPU neighbours): they are listed as disturbed, not slow, "
                + "and left out of the spread and the outlier rule.");
        }

        if (measured is > 0 && measured < summary.Rule.MinNodes)
        {
            summary.Notes.Add($"Outliers are looked for among {summary.Rule.MinNodes} or more measured nodes; {measured} were measured.");
        }

        if (summary.ExpectedTasks is null)
        {
            summary.Notes.Add("The number of tasks is unknown (no fleet.json, no --expect, no exit record states it): "
                + "only tasks that left a file are listed.");
        }
    }
}
