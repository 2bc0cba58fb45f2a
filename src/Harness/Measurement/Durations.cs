using System.Globalization;
using System.Text.RegularExpressions;

namespace Harness.Measurement;

/// <summary>
/// The one grammar of a duration, wherever one is given (<c>--duration</c>, <c>--timeout</c>,
/// <c>--set timeout=</c>...): a number (a leading +, a fraction and an exponent allowed), then a unit:
/// <c>ms</c>, <c>s</c>, <c>m</c> or <c>h</c> (any case, a space allowed before it); a bare number
/// means seconds. <c>0</c> is a duration; a negative one or one longer than a week is not.
/// </summary>
public static partial class Durations
{
    /// <summary>The forms, for help texts and messages.</summary>
    public const string Examples = "e.g. 30s, 500ms, 2m or 1h";

    private static readonly TimeSpan Longest = TimeSpan.FromDays(7);

    /// <summary>The duration <paramref name="text"/> names; null when it is not one of the grammar (or over a week).</summary>
    public static TimeSpan? TryParse(string text)
    {
        Match m = Pattern().Match(text.Trim());
        const NumberStyles Number = NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;
        if (!m.Success || !double.TryParse(m.Groups[1].Value, Number, CultureInfo.InvariantCulture, out double v))
        {
            return null;
        }

        double seconds = m.Groups[2].Value.ToLowerInvariant() switch
        {
            "ms" => v / 1000,
            "m" => v * 60,
            "h" => v * 3600,
            _ => v,
        };
        return double.IsFinite(seconds) && seconds <= Longest.TotalSeconds ? TimeSpan.FromSeconds(seconds) : null;
    }

    /// <summary>The duration <paramref name="text"/> names; anything else is bad input naming <paramref name="what"/>.</summary>
    public static TimeSpan Parse(string text, string what) => TryParse(text)
        ?? throw HarnessException.BadInput(Pattern().IsMatch(text.Trim())
            ? $"{what} '{text}' is longer than a week."
            : $"{what} '{text}' is not a duration; use {Examples}.");

    [GeneratedRegex(@"^\+?((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(ms|s|m|h)?$", RegexOptions.IgnoreCase)]
    private static partial Regex Pattern();
}
