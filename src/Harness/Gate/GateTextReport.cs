using System.Globalization;
using System.Text;

namespace Harness.Gate;

/// <summary>The terminal table of a comparison: warnings first, aligned plain text, one row per metric, reasons and runs below.</summary>
public static class GateTextReport
{
    public static string Render(GateReport report)
    {
        string[] header = ["metric", "base", "current", "change", $"{Confidence(report)} CI", "p", "runs base/cur", "threshold", "verdict"];
        var rows = new List<string[]> { header };
        foreach (MetricComparison m in report.Metrics)
        {
            rows.Add(Cells(m));
        }

        int[] widths = Enumerable.Range(0, header.Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"harness compare: {GateReport.Word(report.Verdict)} ({report.Workload}; {report.BaseFiles.Count} base vs {report.CurrentFiles.Count} current run(s), alpha {report.Options.Alpha}; {report.Design} design)\n");
        foreach (string warning in report.Warnings)
        {
            sb.Append("! ").Append(warning).Append('\n');
        }

        sb.Append('\n');
        foreach (string[] row in rows)
        {
            sb.Append(string.Join("  ", row.Select((c, i) => i == 0 || i == row.Length - 1 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd());
            sb.Append('\n');
        }

        sb.Append('\n');
        foreach (MetricComparison m in report.Metrics)
        {
            sb.Append(CultureInfo.InvariantCulture, $"- {m.Metric}: {m.Reason}.{Extra(m)}\n");
        }

        if (report.Runs.Count > 0)
        {
            sb.Append('\n').Append(RunTable(report)).Append('\n');
        }

        foreach (string note in report.Notes)
        {
            sb.Append(CultureInfo.InvariantCulture, $"- note: {note}\n");
        }

        return sb.ToString();
    }

    /// <summary>"90%" for alpha 0.05: the two-sided interval whose ends are the one-sided tests at alpha.</summary>
    internal static string Confidence(GateReport report) =>
        ((1 - 2 * report.Options.Alpha) * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    internal static string[] Cells(MetricComparison m)
    {
        var c = CultureInfo.InvariantCulture;
        GateMetric def = m.Definition;
        return
        [
            m.Metric,
            m.Base is { } b ? def.FormatValue(b) : "-",
            m.Current is { } cur ? def.FormatValue(cur) : "-",
            m.ChangePct is { } ch ? ch.ToString("+0.0;-0.0;0.0", c) + "%" : "-",
            m.CiLowPct is { } lo && m.CiHighPct is { } hi ? $"[{lo.ToString("+0.0;-0.0;0.0", c)}%, {hi.ToString("+0.0;-0.0;0.0", c)}%]" : "-",
            m.PValue is { } p ? p.ToString("0.####", c) : "-",
            $"{m.BaseSamples}/{m.CurrentSamples}",
            m.ThresholdPct.ToString("0.##", c) + "%",
            GateReport.Word(m.Verdict),
        ];
    }

    /// <summary>The noise model, the smallest detectable change and the position in a history, after a metric's reason.</summary>
    internal static string Extra(MetricComparison m)
    {
        var parts = new List<string>();
        if (m.Noise is { } noise)
        {
            parts.Add($"test: {m.Test}, {noise}");
        }

        if (m.SmallestDetectablePct is { } d)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"these runs detect a change of {d:0.#}% or more with 80% power"));
        }

        if (m.HistoryPosition is { } pos)
        {
            parts.Add($"current: {pos}");
        }

        return parts.Count == 0 ? "" : " (" + string.Join("; ", parts) + ")";
    }

    /// <summary>Each run's p50 with its own interval, its throughput, and whether it was disturbed.</summary>
    internal static string RunTable(GateReport report)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"runs (p50 with its own {Confidence(report)} block-bootstrap interval):\n");
        foreach (RunRow r in report.Runs)
        {
            string ci = r.P50Low is { } lo && r.P50High is { } hi ? string.Create(c, $" [{lo:0.###}, {hi:0.###}]") : "";
            string p50 = r.LatencyP50 is { } p ? string.Create(c, $"p50 {p:0.###} ms{ci}") : "p50 -";
            string throughput = r.Throughput is { } t ? string.Create(c, $", {t:0.##}/s") : "";
            string state = r.Disturbed is { } why ? $", DISTURBED: {why}" : r.Valid ? "" : ", INVALID";
            sb.Append(c, $"  {r.Side} {r.Run} ({r.StartedUtc:yyyy-MM-dd HH:mm:ss}Z): {p50}{throughput}{state}\n");
        }

        return sb.ToString();
    }
}
