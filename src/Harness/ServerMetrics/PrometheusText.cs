using System.Globalization;
using System.Text;

namespace Harness.ServerMetrics;

/// <summary>One sample line: the series name (with its _bucket/_sum/_count suffix), its labels and its value.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value, long? TimestampMs = null)
{
    public string? Label(string name) => Labels.TryGetValue(name, out string? v) ? v : null;
}

/// <summary>A metric family: its name, type (counter, gauge, histogram, summary, untyped), help text and samples.</summary>
public sealed class MetricFamily(string name, string type)
{
    public string Name { get; } = name;

    public string Type { get; internal set; } = type;

    public string? Help { get; internal set; }

    public List<PrometheusSample> Samples { get; } = [];
}

/// <summary>
/// The Prometheus text exposition format (0.0.4, and the OpenMetrics lines a server may add): HELP
/// and TYPE lines, label values with their escapes (\\, \", \n), NaN and ±Inf, optional timestamps,
/// exemplars, histogram and summary series grouped under their family. A line that breaks the
/// format is one sentence with its line number.
/// </summary>
public static class PrometheusText
{
    public static IReadOnlyList<MetricFamily> Parse(string text)
    {
        var families = new List<MetricFamily>();
        var byName = new Dictionary<string, MetricFamily>(StringComparer.Ordinal);
        int lineNumber = 0;
        foreach (ReadOnlySpan<char> raw in text.AsSpan().EnumerateLines())
        {
            lineNumber++;
            ReadOnlySpan<char> line = raw.Trim();
            if (line.IsEmpty)
            {
                continue;
            }

            try
            {
                if (line[0] == '#')
                {
                    Comment(line, families, byName);
                    continue;
                }

                PrometheusSample sample = Sample(line);
                MetricFamily family = FamilyOf(sample.Name, families, byName);
                family.Samples.Add(sample);
            }
            catch (FormatException e)
            {
                throw new FormatException($"line {lineNumber}: {e.Message}", e);
            }
        }

        return families;
    }

    /// <summary>HELP and TYPE lines; other comments (and OpenMetrics' # EOF) are skipped.</summary>
    private static void Comment(ReadOnlySpan<char> line, List<MetricFamily> families, Dictionary<string, MetricFamily> byName)
    {
        ReadOnlySpan<char> rest = line[1..].TrimStart();
        bool help = rest.StartsWith("HELP ", StringComparison.Ordinal) || rest.StartsWith("HELP\t", StringComparison.Ordinal);
        bool type = rest.StartsWith("TYPE ", StringComparison.Ordinal) || rest.StartsWith("TYPE\t", StringComparison.Ordinal);
        if (!help && !type)
        {
            return;
        }

        rest = rest[5..].TrimStart();
        int end = rest.IndexOfAny(' ', '\t');
        string name = (end < 0 ? rest : rest[..end]).ToString();
        string value = end < 0 ? "" : rest[(end + 1)..].Trim().ToString();
        if (!IsMetricName(name))
        {
            throw new FormatException($"'{name}' is not a metric name");
        }

        if (!byName.TryGetValue(name, out MetricFamily? family))
        {
            family = new MetricFamily(name, "untyped");
            byName[name] = family;
            families.Add(family);
        }

        if (help)
        {
            family.Help = Unescape(value, inLabel: false);
            return;
        }

        string t = value.ToLowerInvariant();
        if (t is not ("counter" or "gauge" or "histogram" or "summary" or "untyped" or "gaugehistogram" or "info" or "stateset" or "unknown"))
        {
            throw new FormatException($"metric {name} has an unknown type '{value}'");
        }

        family.Type = t == "unknown" ? "untyped" : t;
    }

    /// <summary>The family a series belongs to: its own name, or the histogram/summary whose suffixed series it is.</summary>
    private static MetricFamily FamilyOf(string series, List<MetricFamily> families, Dictionary<string, MetricFamily> byName)
    {
        if (byName.TryGetValue(series, out MetricFamily? own) && own.Type is not ("histogram" or "gaugehistogram"))
        {
            return own;
        }

        foreach (string suffix in (ReadOnlySpan<string>)["_bucket", "_sum", "_count", "_created", "_total", "_gsum", "_gcount"])
        {
            if (series.EndsWith(suffix, StringComparison.Ordinal)
                && byName.TryGetValue(series[..^suffix.Length], out MetricFamily? parent)
                && (parent.Type is "histogram" or "summary" or "gaugehistogram" || suffix is "_total" or "_created"))
            {
                return parent;
            }
        }

        if (own is not null)
        {
            return own;
        }

        var untyped = new MetricFamily(series, "untyped");
        byName[series] = untyped;
        families.Add(untyped);
        return untyped;
    }

    private static PrometheusSample Sample(ReadOnlySpan<char> line)
    {
        int i = 0;
        while (i < line.Length && line[i] is not ('{' or ' ' or '\t'))
        {
            i++;
        }

        string name = line[..i].ToString();
        if (!IsMetricName(name))
        {
            throw new FormatException($"'{name}' is not a metric name");
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i = Labels(line, i + 1, labels, name);
        }

        ReadOnlySpan<char> rest = line[i..].Trim();
        // OpenMetrics exemplar: "value [timestamp] # {labels} value [timestamp]".
        int exemplar = rest.IndexOf(" # ", StringComparison.Ordinal);
        if (exemplar >= 0)
        {
            rest = rest[..exemplar].TrimEnd();
        }

        int gap = rest.IndexOfAny(' ', '\t');
        ReadOnlySpan<char> valueText = gap < 0 ? rest : rest[..gap];
        if (valueText.IsEmpty)
        {
            throw new FormatException($"series {name} has no value");
        }

        double value = Value(valueText, name);
        long? timestamp = null;
        if (gap >= 0)
        {
            ReadOnlySpan<char> ts = rest[(gap + 1)..].Trim();
            if (!long.TryParse(ts, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long t))
            {
                // OpenMetrics timestamps are seconds with a fraction.
                if (!double.TryParse(ts, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds))
                {
                    throw new FormatException($"series {name} has a timestamp '{ts}' that is not a number");
                }

                t = (long)(seconds * 1000);
            }

            timestamp = t;
        }

        return new PrometheusSample(name, labels, value, timestamp);
    }

    private static int Labels(ReadOnlySpan<char> line, int i, Dictionary<string, string> labels, string series)
    {
        var value = new StringBuilder();
        while (true)
        {
            while (i < line.Length && line[i] is ' ' or '\t' or ',')
            {
                i++;
            }

            if (i >= line.Length)
            {
                throw new FormatException($"series {series} has an unclosed label set");
            }

            if (line[i] == '}')
            {
                return i + 1;
            }

            int start = i;
            while (i < line.Length && line[i] is not ('=' or ' ' or '\t' or '}' or ','))
            {
                i++;
            }

            string label = line[start..i].ToString();
            while (i < line.Length && line[i] is ' ' or '\t')
            {
                i++;
            }

            if (label.Length == 0 || i >= line.Length || line[i] != '=')
            {
                throw new FormatException($"series {series} has a label without '=' near '{label}'");
            }

            i++;
            while (i < line.Length && line[i] is ' ' or '\t')
            {
                i++;
            }

            if (i >= line.Length || line[i] != '"')
            {
                throw new FormatException($"series {series} has label {label} without a quoted value");
            }

            i++;
            value.Clear();
            bool closed = false;
            while (i < line.Length)
            {
                char c = line[i++];
                if (c == '"')
                {
                    closed = true;
                    break;
                }

                if (c == '\\' && i < line.Length)
                {
                    char e = line[i++];
                    value.Append(e switch { 'n' => '\n', '\\' => '\\', '"' => '"', _ => throw new FormatException($"series {series} has label {label} with an unknown escape '\\{e}'") });
                    continue;
                }

                value.Append(c);
            }

            if (!closed)
            {
                throw new FormatException($"series {series} has label {label} with an unclosed value");
            }

            labels[label] = value.ToString();
        }
    }

    private static double Value(ReadOnlySpan<char> text, string series)
    {
        if (text.Equals("NaN", StringComparison.OrdinalIgnoreCase))
        {
            return double.NaN;
        }

        if (text.Equals("+Inf", StringComparison.OrdinalIgnoreCase) || text.Equals("Inf", StringComparison.OrdinalIgnoreCase))
        {
            return double.PositiveInfinity;
        }

        if (text.Equals("-Inf", StringComparison.OrdinalIgnoreCase))
        {
            return double.NegativeInfinity;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v
            : throw new FormatException($"series {series} has a value '{text}' that is not a number");
    }

    /// <summary>Bucket bounds: "+Inf", "0.5", "1e-3".</summary>
    public static double Bound(string le) => Value(le, "le");

    private static string Unescape(string text, bool inLabel)
    {
        if (!text.Contains('\\', StringComparison.Ordinal))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\' && i + 1 < text.Length)
            {
                char e = text[++i];
                sb.Append(e switch { 'n' => '\n', '\\' => '\\', '"' when inLabel => '"', _ => e });
                if (e is not ('n' or '\\') && !(e == '"' && inLabel))
                {
                    sb.Insert(sb.Length - 1, '\\');
                }

                continue;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    private static bool IsMetricName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] is '_' or ':'))
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or ':'))
            {
                return false;
            }
        }

        return true;
    }
}
