using System.Text.Json;
using Harness.Metrics;
using Harness.Results;
using Harness.Trust.Comparability;

namespace Harness.Fleet;

/// <summary>
/// Which suite a fleet ran, and how a node's result differs from it. A fleet is one suite: the same
/// schema, workload, backend, scenario and every config entry but those that differ per node. This is
/// stricter than <see cref="ComparabilityRule"/> (a fleet's nodes must agree on run length and seed
/// too, and a key one side lacks is a difference), so the fleet tells its own differences, as the
/// rule's <see cref="FingerprintDifference"/> records.
/// </summary>
internal static class FleetSuites
{
    /// <summary>Config entries that legitimately differ between the nodes of one suite.</summary>
    private static readonly HashSet<string> PerNodeConfig = [ConfigKeys.CommandLine, ConfigKeys.ClockFrequencyHz];

    /// <summary>The suite most nodes ran is the fleet's; on a tie, the one of the lowest task.</summary>
    public static (FleetSuite? Suite, string? Key) Choose(IEnumerable<LoadedFile> files)
    {
        var best = files.Where(f => f.Document is not null)
            .GroupBy(f => f.SuiteKey!)
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Min(f => f.Task ?? int.MaxValue))
            .FirstOrDefault();
        return best is null ? (null, null) : (SuiteOf(best.First().Document!), best.Key);
    }

    public static FleetSuite SuiteOf(ResultDocument doc) => new()
    {
        SchemaVersion = doc.SchemaVersion,
        Workload = doc.Workload,
        Backend = doc.Backend,
        Scenario = doc.Scenario,
        Config = doc.Config
            .Where(kv => !PerNodeConfig.Contains(kv.Key))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .ToDictionary(kv => kv.Key, kv => kv.Value),
    };

    public static string KeyOf(FleetSuite s) => JsonSerializer.Serialize(s, ResultJson.Options);

    /// <summary>Each field on which <paramref name="node"/> differs from the fleet's suite (the fleet on the base side).</summary>
    public static List<FingerprintDifference> Differences(FleetSuite fleet, FleetSuite node)
    {
        var diffs = new List<FingerprintDifference>();
        void Compare(string field, string ours, string theirs)
        {
            if (theirs != ours)
            {
                diffs.Add(new FingerprintDifference(field, ours, theirs, DifferenceArea.Workload, "fleet vs node"));
            }
        }

        Compare("workload", fleet.Workload, node.Workload);
        Compare("backend", fleet.Backend, node.Backend);
        Compare("scenario", fleet.Scenario, node.Scenario);
        foreach (string key in fleet.Config.Keys.Union(node.Config.Keys).Order(StringComparer.Ordinal))
        {
            string ours = fleet.Config.TryGetValue(key, out object? b) ? Json(b) : "(absent)";
            string theirs = node.Config.TryGetValue(key, out object? a) ? Json(a) : "(absent)";
            Compare($"config {key}", ours, theirs);
        }

        return diffs;
    }

    /// <summary>"config batch 8 where the fleet has 1; ...": the first three differences, and how many more.</summary>
    public static string Describe(FleetSuite fleet, FleetSuite node)
    {
        List<string> diffs = Differences(fleet, node).Select(d => $"{d.Field} {d.Current} where the fleet has {d.Base}").ToList();
        return diffs.Count == 0
            ? "its settings differ"
            : string.Join("; ", diffs.Take(3)) + (diffs.Count > 3 ? $"; and {diffs.Count - 3} more" : "");
    }

    private static string Json(object? value) =>
        JsonSerializer.Serialize(value, ResultJson.Options)
            .Replace("\n", "", StringComparison.Ordinal)
            .Replace("  ", "", StringComparison.Ordinal);
}
