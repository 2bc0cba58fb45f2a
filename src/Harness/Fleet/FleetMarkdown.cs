using System.Globalization;
using System.Text;
using Harness.Formatting;
using static System.FormattableString;
using static Harness.Formatting.MarkdownColumn;

namespace Harness.Fleet;

/// <summary>The fleet summary as a Markdown table for the terminal: one row per task, then the spread and the problems.</summary>
public static class FleetMarkdown
{
    public static string Render(FleetSummary s, string? path = null)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        FleetAggregate a = s.Aggregate;
        string suite = s.Suite is { } su ? $"{su.Workload} on {su.Backend}, {su.Scenario}" : "no readable result";
        string expected = s.ExpectedTasks is { } e ? $" of {e}" : "";
        string verdict = s.Healthy ? "HEALTHY" : "NEEDS ATTENTION";
        sb.Append(c, $"### Fleet: {suite}: {a.NodesMeasured}{expected} tasks measured, {a.NodesFlagged} flagged: {verdict}\n\n");
        string unit = a.ThroughputUnit ?? "units";
        bool groups = s.Groups.Count > 1;
        if (groups)
        {
            sb.Append(c, $"Heterogeneous fleet: {s.Groups.Count} hardware groups, each judged on its own.\n\n");
        }

        var table = new MarkdownTable(new[] { Right("task"), Left("node"), Left("device") }
            .Concat(groups ? new[] { Right("group") } : [])
            .Concat(new[] { Left("status"), Right(Invariant($"throughput ({unit}/s)")), Right("p50 ms"), Right("p99 ms"), Left("flag") }));
        foreach (NodeSummary n in s.Nodes)
        {
            string task = n.Task is { } t ? t.ToString(c) : "-";
            string device = n.Gpu ?? n.Cpu ?? "";
            var flags = n.Flags.Select(f => f.Direction.ToUpperInvariant() + ": " + f.Reason).ToList();
            if (n.Disturbance is { } why)
            {
                flags.Insert(0, (n.Status == NodeStatus.Disturbed ? "DISTURBED: " : "NOISY (allowed): ") + why);
            }

            string[] group = groups ? [n.Group?.ToString(c) ?? "-"] : [];
            table.Row(new[] { task, n.Name, device }.Concat(group)
                .Concat(new[] { Status(n), Num(n.ThroughputPerS), Num(n.LatencyP50Ms), Num(n.LatencyP99Ms), string.Join("; ", flags) }));
        }

        table.AppendTo(sb);

        if (s.Spread.Count > 0)
        {
            Spread(sb, "spread", s.Spread);
        }

        foreach (FleetGroup g in groups ? s.Groups : [])
        {
            string differs = g.DiffersFromFirst.Count > 0 ? $"; differs from group 1 in {string.Join("; ", g.DiffersFromFirst)}" : "";
            sb.Append(c, $"\nGroup {g.Id}: {g.Nodes} node(s), {MarkdownTable.Escape(g.Hardware)}{MarkdownTable.Escape(differs)}\n");
            if (g.Spread.Count > 0)
            {
                Spread(sb, $"group {g.Id} spread", g.Spread);
            }
        }

        sb.Append(c, $"\nAggregate: {a.NodesMeasured} measured nodes deliver {a.ThroughputPerS:0.##} {unit}/s together; {a.RequestsOk} requests ok, {a.RequestsFailed} failed");
        if (a.LatencyMs is { } l)
        {
            sb.Append(c, $"; pooled latency p50 {l.P50:0.###} ms, p99 {l.P99:0.###} ms");
        }

        sb.Append(".\n");
        var problems = s.Nodes.Where(n => n.Status != NodeStatus.Ok || n.Reason is not null).ToList();
        if (problems.Count > 0)
        {
            sb.Append("\nNeeds a look:\n");
            foreach (NodeSummary n in problems)
            {
                string task = n.Task is { } t ? $"task {t.ToString(c)}" : "file";
                string file = n.File is null ? "" : $", {n.File}";
                sb.Append(c, $"- {task} ({n.Name}{file}): {Status(n)}: {n.Reason}\n");
                foreach (string line in n.LogTail ?? [])
                {
                    sb.Append("      ").Append(line).Append('\n');
                }
            }
        }

        foreach (string note in s.Notes)
        {
            sb.Append(c, $"\nNote: {note}\n");
        }

        if (path is not null)
        {
            sb.Append(c, $"\nSummary: {path}\n");
        }

        return sb.ToString();
    }

    private static void Spread(StringBuilder sb, string title, Dictionary<string, SpreadSummary> spread)
    {
        var table = new MarkdownTable(Left(title), Right("nodes"), Right("median"), Right("MAD"), Right("min"), Right("max"), Right("CV"));
        foreach ((string metric, SpreadSummary sp) in spread)
        {
            table.Row(metric, Invariant($"{sp.Count}"), Invariant($"{sp.Median:0.###}"), Invariant($"{sp.Mad:0.###}"),
                Invariant($"{sp.Min:0.###}"), Invariant($"{sp.Max:0.###}"), Invariant($"{sp.Cv:0.0%}"));
        }

        table.AppendTo(sb.Append('\n'));
    }

    private static string Status(NodeSummary n) => n.Status.ToString().ToLowerInvariant();

    private static string Num(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "";
}
