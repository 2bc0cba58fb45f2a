using System.Globalization;
using System.Text;
using Harness.Formatting;

namespace Harness.Gate;

/// <summary>A comparison as Markdown for a pull-request comment or a job summary.</summary>
public static class GateMarkdownReport
{
    public static string Render(GateReport report)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        string icon = report.Verdict switch
        {
            GateVerdict.Regression => ":x:",
            GateVerdict.Inconclusive => ":warning:",
            _ => ":white_check_mark:",
        };
        sb.Append(c, $"### {icon} Performance gate: {GateReport.Word(report.Verdict)}\n\n");
        foreach (string warning in report.Warnings)
        {
            sb.Append(c, $"> :warning: {Escape(warning)}\n>\n");
        }

        if (report.Warnings.Count > 0)
        {
            sb.Append('\n');
        }

        sb.Append(c, $"Workload `{Escape(report.Workload)}`: {report.BaseFiles.Count} base vs {report.CurrentFiles.Count} current run(s); ");
        sb.Append(report.Design == DuetGate.Design
            ? "duet design: both sides ran at the same time, and each pair's current/base ratio is one observation; "
            : "interleaved design: each run's value is one observation; ");
        sb.Append(c, $"a metric regresses only when the change is significant (one-sided, alpha {report.Options.Alpha}) and beyond its threshold.\n\n");
        var table = new MarkdownTable(MarkdownColumn.Left("metric"), MarkdownColumn.Right("base"), MarkdownColumn.Right("current"),
            MarkdownColumn.Right("change"), MarkdownColumn.Right($"{GateTextReport.Confidence(report)} CI"), MarkdownColumn.Right("p"),
            MarkdownColumn.Right("runs base/cur"), MarkdownColumn.Right("threshold"), MarkdownColumn.Left("verdict"));
        foreach (MetricComparison m in report.Metrics)
        {
            string[] cells = GateTextReport.Cells(m);
            cells[^1] = m.Verdict is GateVerdict.Regression or GateVerdict.Inconclusive ? $"**{cells[^1]}**" : cells[^1];
            table.Row(cells);
        }

        table.AppendTo(sb);

        sb.Append('\n');
        foreach (MetricComparison m in report.Metrics)
        {
            sb.Append(c, $"- `{m.Metric}`: {Escape(m.Reason)}.{Escape(GateTextReport.Extra(m))}\n");
        }

        foreach (string note in report.Notes)
        {
            sb.Append(c, $"- {Escape(note)}\n");
        }

        if (report.Runs.Count > 0)
        {
            sb.Append("\n<details><summary>Runs</summary>\n\n```\n").Append(GateTextReport.RunTable(report)).Append("```\n</details>\n");
        }

        return sb.ToString();
    }

    /// <summary>Prose outside the table: a stray <c>|</c> escaped, line breaks kept (cells: <see cref="MarkdownTable"/>).</summary>
    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
}
