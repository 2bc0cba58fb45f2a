using System.Globalization;
using Harness.Gate;
using Harness.Trust.Comparability;

namespace Harness.Reports;

/// <summary>
/// <c>harness compare --html</c>: the gate's report as a page, drawn from the <see cref="GateReport"/>
/// the command computed (nothing is recomputed): the verdict, the differences in fingerprint and the
/// disturbed runs called out at the top, each metric's change with its interval against its
/// threshold, and each run's level with its own interval.
/// </summary>
public static class GateView
{
    public static string Render(GateReport report)
    {
        var c = CultureInfo.InvariantCulture;
        var page = new HtmlPage($"compare {report.Workload}: {GateReport.Word(report.Verdict)}");
        page.Html($"<p class=\"verdict {Css(report.Verdict)}\" data-verdict=\"{Css(report.Verdict)}\">Performance gate: {E(GateReport.Word(report.Verdict))} (exit {report.ExitCode})</p>");
        page.Paragraph(string.Create(c,
            $"Workload {report.Workload}: {report.BaseFiles.Count} base vs {report.CurrentFiles.Count} current run(s). Each run's value is one observation; a metric regresses only when the change is significant (one-sided, alpha {report.Options.Alpha}) and beyond its threshold."));
        page.Warnings(report.Warnings);
        page.View("gate-verdicts", "Change per metric, with its interval and threshold", Verdicts(report),
            "No metric could be compared (no run on a side records one).",
            $"Dot: the estimated change of current against base; bar: its {GateTextReport.Confidence(report)} interval; black tick: the threshold on the side that would be a regression (slower latency, lower throughput). Colour: the metric's verdict.");
        page.View("gate-metrics", "Metrics", report.Metrics.Count == 0 ? null : HtmlPage.Table(
            ["metric", "base", "current", "change", $"{GateTextReport.Confidence(report)} CI", "p", "runs base/cur", "threshold", "verdict", "why"],
            report.Metrics.Select(m => (IReadOnlyList<string>)[.. GateTextReport.Cells(m), m.Reason + "." + GateTextReport.Extra(m)])),
            "No metric could be compared.");
        page.View("gate-fingerprint", "How the two sides differ", Differences(report.Comparability),
            report.Comparability is null ? "The fingerprints were not checked." : "The runs agree on everything the fingerprint records that moves speed, and on the rest.");
        page.View("gate-disturbance", "Disturbed runs", report.Disturbed.Count == 0 ? null : HtmlPage.Table(
            ["side", "run", "what disturbed it", "effect", "how known"],
            report.Disturbed.Select(d => (IReadOnlyList<string>)[d.Side, d.Run, string.Join("; ", d.Causes), d.Blocks ? "makes the comparison inconclusive" : "flagged (allowed noisy)", d.How])),
            "No run was disturbed: other processes, steal, GPU neighbours and throttling stayed within each run's limits.");
        page.View("gate-runs", "Each run's level", Runs(report),
            "No run list (the comparison had no runs to show).",
            $"Each run's p50 with its own {GateTextReport.Confidence(report)} block-bootstrap interval, and its throughput: the spread between runs is the noise the verdict weighs.");
        if (report.Notes.Count > 0)
        {
            page.Html("<section class=\"view\" id=\"gate-notes\"><h3>Notes</h3><ul>" + string.Concat(report.Notes.Select(n => $"<li>{E(n)}</li>")) + "</ul></section>");
        }

        return page.Render($"Base: {string.Join(", ", report.BaseFiles)}. Current: {string.Join(", ", report.CurrentFiles)}.");
    }

    private static string Css(GateVerdict v) => v.ToString().ToLowerInvariant();

    private static int Color(GateVerdict v) => v switch
    {
        GateVerdict.Regression => 1,
        GateVerdict.Inconclusive => 4,
        GateVerdict.Improvement => 5,
        _ => 2,
    };

    private static string? Verdicts(GateReport report)
    {
        if (report.Metrics.Count == 0)
        {
            return null;
        }

        var metrics = report.Metrics;
        var chart = new SvgChart("gate-verdicts", "Change of current against base", "change, current vs base (%)", "metric")
        {
            Rows = metrics.Select(m => m.Metric).ToList(),
        };
        foreach (GateVerdict verdict in Enum.GetValues<GateVerdict>())
        {
            var rows = metrics.Select((m, i) => (m, i)).Where(x => x.m.Verdict == verdict && x.m.ChangePct is not null).ToList();
            var withCi = rows.Where(x => x.m.CiLowPct is not null && x.m.CiHighPct is not null).ToList();
            chart.AddIntervals(GateReport.Word(verdict), withCi.Select(x => (x.m.ChangePct!.Value, (double)x.i, x.m.CiLowPct!.Value, x.m.CiHighPct!.Value)), colorIndex: Color(verdict));
            chart.Add($"{GateReport.Word(verdict)} (no interval)", rows.Except(withCi).Select(x => (x.m.ChangePct!.Value, (double)x.i)), lines: false, markers: true, colorIndex: Color(verdict));
        }

        chart.Add("threshold (regression side)", metrics.Select((m, i) => ((m.Definition.HigherIsBetter ? -1 : 1) * m.ThresholdPct, (double)i)), lines: false, markers: true, colorIndex: 6);
        chart.AddRule(ChartAxis.X, 0, "no change", colorIndex: 6, dashed: false);
        return chart.Render();
    }

    private static string? Differences(ComparabilityVerdict? verdict)
    {
        if (verdict is null || (verdict.Differences.Count == 0 && verdict.Unchecked.Count == 0))
        {
            return null;
        }

        string table = HtmlPage.Table(
            ["what", "base", "current", "kind", "moves speed", "allowed by", "runs"],
            verdict.Differences.OrderBy(d => d.MovesSpeed ? 0 : 1).Select(d => (IReadOnlyList<string>)[d.Field, d.Base, d.Current, d.Area.ToString().ToLowerInvariant(), d.MovesSpeed ? "YES" : "no", d.AllowedBy ?? "-", d.Where]),
            "figures differences");
        return table + string.Concat(verdict.Unchecked.Select(u => $"<p class=\"note\">{E(u)}</p>"));
    }

    private static string? Runs(GateReport report)
    {
        var runs = report.Runs;
        if (runs.Count == 0)
        {
            return null;
        }

        var rows = runs.Select(r => $"{r.Side} {Path.GetFileName(r.Run)}").ToList();
        var charts = new List<string>();
        var latency = new SvgChart("gate-runs", "Each run's p50 latency", "p50 latency (ms)", "run") { Rows = rows };
        foreach ((string side, bool disturbed, int color) in new[] { ("base", false, 0), ("current", false, 3), ("base", true, 5), ("current", true, 1) })
        {
            string name = disturbed ? $"{side}, disturbed" : side;
            var mine = runs.Select((r, i) => (r, i)).Where(x => x.r.Side == side && x.r.LatencyP50 is not null && (x.r.Disturbed is not null) == disturbed).ToList();
            latency.AddIntervals(name, mine.Where(x => x.r.P50Low is not null && x.r.P50High is not null).Select(x => (x.r.LatencyP50!.Value, (double)x.i, x.r.P50Low!.Value, x.r.P50High!.Value)), colorIndex: color);
            latency.Add($"{name} (no interval)", mine.Where(x => x.r.P50Low is null || x.r.P50High is null).Select(x => (x.r.LatencyP50!.Value, (double)x.i)), lines: false, markers: true, colorIndex: color);
        }

        if (latency.SeriesCount > 0)
        {
            charts.Add(latency.Render());
        }

        var throughput = new SvgChart("gate-runs-throughput", "Each run's throughput", "throughput (output units/s)", "run") { Rows = rows, XMin = 0 };
        foreach ((string side, int color) in new[] { ("base", 0), ("current", 3) })
        {
            throughput.Add(side, runs.Select((r, i) => (r, i)).Where(x => x.r.Side == side && x.r.Throughput is not null).Select(x => (x.r.Throughput!.Value, (double)x.i)), lines: false, markers: true, colorIndex: color);
        }

        if (throughput.SeriesCount > 0)
        {
            charts.Add(throughput.Render());
        }

        return charts.Count > 0 ? string.Concat(charts) : null;
    }

    private static string E(string s) => SvgChart.Esc(s);
}
