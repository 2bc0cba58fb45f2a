using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Harness.Measurement;

namespace Harness.Cli.Commands;

/// <summary>
/// Parses the textual option values (shapes, key=value pairs, percentiles) into typed ones, and
/// declares the duration options, which the command line parses itself (<see cref="Durations"/>' grammar).
/// </summary>
public static partial class OptionParsers
{
    /// <summary>
    /// A duration option, parsed with the command line: a bad value is a parse error whose message is
    /// <see cref="Durations.Parse"/>'s sentence (exit 2 before anything runs); left out, it is
    /// <paramref name="defaultText"/>, which help shows as written ("30s", not "00:00:30").
    /// </summary>
    public static Option<TimeSpan> Duration(string name, string description, string defaultText, params string[] aliases)
    {
        TimeSpan fallback = Durations.Parse(defaultText, name);
        return new DurationOption(name, aliases, defaultText)
        {
            Description = description,
            DefaultValueFactory = _ => fallback,
            CustomParser = ParseDuration,
        };
    }

    /// <summary>A duration option without a default: null when left out.</summary>
    public static Option<TimeSpan?> OptionalDuration(string name, string description) =>
        new(name) { Description = description, CustomParser = r => ParseDuration(r) };

    /// <summary>
    /// Before help is written: each duration option's default as written, in the same place of its help
    /// line as the parser's own "[default: ...]", which would print the <see cref="TimeSpan"/> (00:00:30).
    /// </summary>
    internal static void ShowDurationDefaultsAsWritten(IEnumerable<Option> options)
    {
        foreach (DurationOption option in options.OfType<DurationOption>().Where(o => o.DefaultValueFactory is not null))
        {
            option.Description = $"{option.Description} [default: {option.DefaultText}]";
            option.DefaultValueFactory = null;
        }
    }

    /// <summary>The one token of a duration option, or a parse error that names the option.</summary>
    private static TimeSpan ParseDuration(ArgumentResult result)
    {
        string name = result.Parent is OptionResult o ? o.Option.Name : result.Argument.Name;
        try
        {
            return Durations.Parse(result.Tokens[0].Value, name);
        }
        catch (HarnessException e)
        {
            result.AddError(e.Message);
            return default;
        }
    }

    /// <summary>A duration option with a default, and that default as the user would write it, for help.</summary>
    private sealed class DurationOption(string name, string[] aliases, string defaultText) : Option<TimeSpan>(name, aliases)
    {
        public string DefaultText { get; } = defaultText;
    }

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

    /// <summary>
    /// Every "key=value" of a repeatable option (<c>--set</c>, <c>--llm-set</c>), in order; one may hold
    /// several, comma-separated (<c>--set temperature=0.7,top_p=0.9</c>), while a comma not followed by
    /// "key=" stays in its value (<c>--set ceilings=a.json,b.json</c>).
    /// </summary>
    public static List<KeyValuePair<string, string>> Settings(IEnumerable<string>? texts) =>
        (texts ?? []).SelectMany(t => SettingSeparator().Split(t)).Select(Setting).ToList();

    [System.Text.RegularExpressions.GeneratedRegex(@",(?=\s*[A-Za-z_][A-Za-z0-9_-]*\s*=)")]
    private static partial System.Text.RegularExpressions.Regex SettingSeparator();

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
