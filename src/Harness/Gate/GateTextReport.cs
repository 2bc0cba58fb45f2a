using System.Globalization;
using System.Text;

namespace Harness.Gate;

/// <summary>The terminal table of a comparison: aligned plain text, one row per metric, reasons below.</summary>
public static class GateTextReport
{
    public static string Render(GateReport report)
    {
        string[] header = ["metric", "base", "current", "change", $"{Confidence(report)} CI", "p", "n base/cur", "threshold", "verdict"];
        var rows = new List<string[]> { header };
        foreach (MetricComparison m in report.Metrics)
        {
            rows.Add(Cells(m));
        }

        int[] widths = Enumerable.Range(0, header.Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"harness compare: {GateReport.Word(report.Verdict)} ({report.Workload}; {report.BaseFiles.Count} base vs {report.CurrentFiles.Count} current result(s), alpha {report.Options.Alpha})\n\n");
        foreach (string[] row in rows)
        {
            sb.Append(string.Join("  ", row.Select((c, i) => i == 0 || i == row.Length - 1 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd());
            sb.Append('\n');
        }

        sb.Append('\n');
        foreach (MetricComparison m in report.Metrics)
        {
            sb.Append(CultureInfo.InvariantCulture, $"- {m.Metric}: {m.Reason}.\n");
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
}
