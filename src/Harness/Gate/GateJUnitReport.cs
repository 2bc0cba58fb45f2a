using System.Globalization;
using System.Text;
using System.Xml;

namespace Harness.Gate;

/// <summary>
/// A comparison as JUnit XML, one test case per metric, for CI test-report widgets: a regression is
/// a failure, an inconclusive metric is skipped with its reason (the exit code, 3, still says so).
/// </summary>
public static class GateJUnitReport
{
    public static string Render(GateReport report)
    {
        var c = CultureInfo.InvariantCulture;
        int failures = report.Metrics.Count(m => m.Verdict == GateVerdict.Regression);
        bool disturbed = report.Disturbed.Any(d => d.Blocks);
        int skipped = report.Metrics.Count(m => m.Verdict == GateVerdict.Inconclusive || (disturbed && m.Verdict is GateVerdict.Pass or GateVerdict.Improvement));
        var sb = new StringBuilder();
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false), OmitXmlDeclaration = false };
        using (var w = XmlWriter.Create(new StringWriterUtf8(sb, c), settings))
        {
            w.WriteStartDocument();
            w.WriteStartElement("testsuites");
            w.WriteAttributeString("name", "harness compare");
            w.WriteAttributeString("tests", report.Metrics.Count.ToString(c));
            w.WriteAttributeString("failures", failures.ToString(c));
            w.WriteAttributeString("skipped", skipped.ToString(c));
            w.WriteAttributeString("errors", "0");
            w.WriteStartElement("testsuite");
            w.WriteAttributeString("name", $"performance gate: {report.Workload}");
            w.WriteAttributeString("tests", report.Metrics.Count.ToString(c));
            w.WriteAttributeString("failures", failures.ToString(c));
            w.WriteAttributeString("skipped", skipped.ToString(c));
            w.WriteAttributeString("errors", "0");
            w.WriteStartElement("properties");
            Property(w, "verdict", GateReport.Word(report.Verdict));
            Property(w, "alpha", report.Options.Alpha.ToString(c));
            Property(w, "base_files", string.Join(";", report.BaseFiles));
            Property(w, "current_files", string.Join(";", report.CurrentFiles));
            for (int i = 0; i < report.Warnings.Count; i++)
            {
                Property(w, $"warning_{i + 1}", report.Warnings[i]);
            }

            w.WriteEndElement();

            foreach (MetricComparison m in report.Metrics)
            {
                w.WriteStartElement("testcase");
                w.WriteAttributeString("classname", $"harness.compare.{report.Workload}");
                w.WriteAttributeString("name", m.Metric);
                w.WriteAttributeString("time", "0");
                string detail = string.Join(", ", GateTextReport.Cells(m).Zip(
                    ["metric", "base", "current", "change", "ci", "p", "n", "threshold", "verdict"], (v, k) => $"{k}={v}"));
                switch (m.Verdict)
                {
                    case GateVerdict.Regression:
                        w.WriteStartElement("failure");
                        w.WriteAttributeString("type", "regression");
                        w.WriteAttributeString("message", m.Reason);
                        w.WriteString(detail);
                        w.WriteEndElement();
                        break;
                    case GateVerdict.Inconclusive:
                        w.WriteStartElement("skipped");
                        w.WriteAttributeString("message", "inconclusive: " + m.Reason);
                        w.WriteEndElement();
                        break;
                    case GateVerdict.Pass or GateVerdict.Improvement when report.Verdict == GateVerdict.Inconclusive && report.Disturbed.Any(d => d.Blocks):
                        w.WriteStartElement("skipped");
                        w.WriteAttributeString("message", "inconclusive: a run was disturbed (" + report.Disturbed.First(d => d.Blocks).Causes.FirstOrDefault() + ")");
                        w.WriteEndElement();
                        break;
                    default:
                        w.WriteElementString("system-out", $"{GateReport.Word(m.Verdict)}: {m.Reason}; {detail}");
                        break;
                }

                w.WriteEndElement();
            }

            if (report.Warnings.Count > 0)
            {
                // The schema puts the suite's output after its cases; the properties above lead with the same warnings.
                w.WriteElementString("system-out", string.Join("\n", report.Warnings));
            }

            w.WriteEndElement();
            w.WriteEndElement();
            w.WriteEndDocument();
        }

        return sb.ToString();
    }

    private static void Property(XmlWriter w, string name, string value)
    {
        w.WriteStartElement("property");
        w.WriteAttributeString("name", name);
        w.WriteAttributeString("value", value);
        w.WriteEndElement();
    }

    /// <summary>So that the XML declaration says UTF-8, matching the bytes AtomicFile writes.</summary>
    private sealed class StringWriterUtf8(StringBuilder sb, IFormatProvider provider) : StringWriter(sb, provider)
    {
        public override Encoding Encoding => new UTF8Encoding(false);
    }
}
