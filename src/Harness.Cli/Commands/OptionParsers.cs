using System.Globalization;

namespace Harness.Cli.Commands;

/// <summary>
/// Parses the textual option values (shapes, key=value pairs, percentiles) into typed ones;
/// durations: <see cref="Harness.Measurement.Durations"/>.
/// </summary>
public static class OptionParsers
{
    /// <summary>"name=1x3x224x224" into the input name and its dimensions.</summary>
    public static KeyValuePair<string, long[]> Shape(string text)
    {
        int eq = text.IndexOf('=');
        if (eq <= 0 || eq == text.Length - 1)
        {
            throw HarnessException.BadInput($"--shape '{text}' is not of the form name=1x3x224x224.");
        }

        string name = text[..eq];
        string[] dims = text[(eq + 1)..].Split('x', 'X', ',');
        var shape = new long[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (!long.TryParse(dims[i], NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]) || shape[i] <= 0)
            {
                throw HarnessException.BadInput($"--shape '{text}' has a dimension '{dims[i]}' that is not a positive integer.");
            }
        }

        return new(name, shape);
    }

    /// <summary>"key=value" pairs of <c>--set</c>.</summary>
    public static KeyValuePair<string, string> Setting(string text)
    {
        int eq = text.IndexOf('=');
        if (eq <= 0)
        {
            throw HarnessException.BadInput($"--set '{text}' is not of the form key=value.");
        }

        return new(text[..eq].Trim(), text[(eq + 1)..].Trim());
    }

    /// <summary>Every "key=value" of a repeatable option (<c>--set</c>, <c>--llm-set</c>), in order.</summary>
    public static List<KeyValuePair<string, string>> Settings(IEnumerable<string>? texts) => (texts ?? []).Select(Setting).ToList();

    /// <summary>"p99", "99", "p99.9", "0.99" into a fraction in (0, 1).</summary>
    public static double Percentile(string text)
    {
        string t = text.Trim().TrimStart('p', 'P');
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
        {
            throw HarnessException.BadInput($"--tail '{text}' is not a percentile such as p90, p99 or p99.9.");
        }

        double p = v >= 1 ? v / 100 : v;
        if (p is <= 0 or >= 1)
        {
            throw HarnessException.BadInput($"--tail '{text}' must lie strictly between 0 and 100.");
        }

        return p;
    }

    /// <summary>A value used in a URL path and as a label: letters, digits, '_', '-', '.'.</summary>
    public static string Label(string text, string option)
    {
        string t = text.Trim();
        if (t.Length == 0 || !t.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            throw HarnessException.BadInput($"{option} '{text}' may hold only letters, digits, '_', '-' and '.'.");
        }

        return t;
    }

}
