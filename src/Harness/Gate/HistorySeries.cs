using System.Globalization;
using System.Text;
using Harness.Results;
using Harness.Telemetry;
using Harness.Trust;
using Harness.Trust.Noise;

namespace Harness.Gate;

/// <summary>
/// <c>harness history DIR --metric p50</c>: one metric of every past run of a measurement, oldest
/// first, with the change points found in it (<see cref="ChangePointDetector"/>), so that a slow
/// drift or the commit where a series stepped shows with its date and run.
/// </summary>
public static class HistorySeries
{
    /// <summary>One run of the series.</summary>
    public sealed record Point(DateTime StartedUtc, string Run, double Value, string HarnessVersion, string? Disturbed);

    public sealed record Series(string Workload, GateMetric Metric, IReadOnlyList<Point> Points, IReadOnlyList<ChangePointDetector.ChangePoint> ChangePoints, double? Cv, IReadOnlyList<string> Notes);

    public static Series Read(string folder, string metric, int window, double alpha = 0.01)
    {
        GateMetric m = GateMetric.Find(metric) ?? throw HarnessException.BadInput($"Unknown metric '{metric}'; known metrics: {GateMetric.KnownNames}.");
        RunHistory.Window history = RunHistory.Read(folder, window);
        var notes = history.Notes.ToList();
        var points = new List<Point>();
        int without = 0;
        foreach (LoadedResult r in history.Runs.OrderBy(r => r.Document.StartedUtc).ThenBy(r => r.Path, StringComparer.Ordinal))
        {
            if (m.RunValue(r.Document).Value is not { } v || v <= 0)
            {
                without++;
                continue;
            }

            RunDisturbance d = RunDisturbance.Of(r.Document, DisturbanceLimits.Default);
            points.Add(new Point(r.Document.StartedUtc, r.Path, v, r.Document.HarnessVersion, d.Disturbed ? string.Join("; ", d.Causes) : null));
        }

        if (without > 0)
        {
            notes.Add($"{without} run(s) have no usable {m.Name} and are not in the series");
        }

        IReadOnlyList<ChangePointDetector.ChangePoint> changes = points.Count >= 2 * ChangePointDetector.MinSegment
            ? ChangePointDetector.Find(points.Select(p => p.Value).ToList(), alpha)
            : [];
        if (points.Count < 2 * ChangePointDetector.MinSegment)
        {
            notes.Add($"change points are looked for in {2 * ChangePointDetector.MinSegment} or more runs; the series has {points.Count}");
        }

        double? cv = null;
        if (points.Count >= 3)
        {
            // The spread within the segments between change points: the noise a gate on this history would use.
            var bounds = changes.Select(c => c.Index).Prepend(0).Append(points.Count).ToList();
            var segments = bounds.Zip(bounds.Skip(1)).Select(s => (IReadOnlyList<double>)points.Skip(s.First).Take(s.Second - s.First).Select(p => Math.Log(p.Value)).ToList());
            cv = NoiseModel.Pooled(segments, "history")?.Cv;
        }

        return new Series(history.Runs[0].Document.Workload, m, points, changes, cv, notes);
    }

    public static string Render(Series s)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"harness history: {s.Workload}, {s.Metric.Name} over {s.Points.Count} run(s), oldest first");
        sb.Append(s.Cv is { } cv ? string.Create(c, $"; run-to-run CV {cv:0.0%} within segments\n\n") : "\n\n");
        var starts = s.ChangePoints.ToDictionary(p => p.Index);
        for (int i = 0; i < s.Points.Count; i++)
        {
            if (starts.TryGetValue(i, out ChangePointDetector.ChangePoint? cp))
            {
                double pct = (cp.MedianAfter / cp.MedianBefore - 1) * 100;
                sb.Append(c, $"  ---- change point: median {s.Metric.FormatValue(cp.MedianBefore)} -> {s.Metric.FormatValue(cp.MedianAfter)} ({pct:+0.0;-0.0}%), p = {cp.PValue:0.###} ----\n");
            }

            Point p = s.Points[i];
            string flag = p.Disturbed is { } why ? $"  DISTURBED: {why}" : "";
            sb.Append(c, $"  {p.StartedUtc:yyyy-MM-dd HH:mm:ss}Z  {s.Metric.FormatValue(p.Value),14}  {p.HarnessVersion}  {p.Run}{flag}\n");
        }

        sb.Append('\n');
        if (s.ChangePoints.Count == 0)
        {
            sb.Append("No change point found (permutation test of the largest split, p < 0.01, segments of 3 or more runs).\n");
        }

        foreach (ChangePointDetector.ChangePoint cp in s.ChangePoints)
        {
            Point before = s.Points[cp.Index - 1], after = s.Points[cp.Index];
            sb.Append(c, $"Change point between {before.StartedUtc:yyyy-MM-dd HH:mm}Z ({before.Run}, {before.HarnessVersion}) and {after.StartedUtc:yyyy-MM-dd HH:mm}Z ({after.Run}, {after.HarnessVersion}): ");
            sb.Append(c, $"{s.Metric.FormatValue(cp.MedianBefore)} -> {s.Metric.FormatValue(cp.MedianAfter)}, p = {cp.PValue:0.###}.\n");
        }

        foreach (string note in s.Notes)
        {
            sb.Append(c, $"- note: {note}\n");
        }

        return sb.ToString();
    }
}
