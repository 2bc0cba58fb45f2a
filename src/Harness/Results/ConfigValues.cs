namespace Harness.Results;

/// <summary>
/// Typed access to a result's <c>config</c> by its catalog key (Metrics/ConfigKeys.cs), whether the
/// document was built in memory or read from a file: the one reader of config values.
/// </summary>
public static class ConfigValues
{
    /// <summary>The number under <paramref name="key"/>; null when absent or not a number.</summary>
    public static double? ConfigNumber(this ResultDocument doc, string key) => DocumentValues.Number(doc.Config.GetValueOrDefault(key));

    /// <summary>The whole number under <paramref name="key"/>; null when absent, not a number or not whole.</summary>
    public static int? ConfigInt(this ResultDocument doc, string key) =>
        doc.ConfigNumber(key) is { } d && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue ? (int)d : null;

    /// <summary>The text under <paramref name="key"/>; null when absent or not a text.</summary>
    public static string? ConfigText(this ResultDocument doc, string key) => DocumentValues.Text(doc.Config.GetValueOrDefault(key));
}
