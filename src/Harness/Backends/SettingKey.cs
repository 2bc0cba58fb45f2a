using System.Globalization;
using Harness.Measurement;

namespace Harness.Backends;

/// <summary>
/// One <c>--set</c> key a workload declares: its name, its type and default as help prints them, its
/// meaning in one line, and whether a text is a value of it. A key may be written with '-' for '_'.
/// </summary>
public abstract class SettingKey
{
    protected SettingKey(string name, string type, string defaultText, string meaning, string expected)
    {
        Name = name;
        Type = type;
        Default = defaultText;
        Meaning = meaning;
        Expected = expected;
    }

    public string Name { get; }

    /// <summary>The type as help prints it: int, flag, duration, chat|completions...</summary>
    public string Type { get; }

    /// <summary>The default as help prints it ("2048 on cpu, 8192 on cuda", "the server's").</summary>
    public string Default { get; }

    public string Meaning { get; }

    /// <summary>What a value must be, after "expected": "an integer of at least 1".</summary>
    public string Expected { get; }

    /// <summary>Whether <paramref name="key"/>, as given, names this key.</summary>
    public bool Matches(string key) => key.Trim().Replace('-', '_') == Name;

    /// <summary>The value given for this key (trimmed); null when the settings do not name it.</summary>
    public string? Find(IReadOnlyDictionary<string, string> settings)
    {
        foreach (KeyValuePair<string, string> kv in settings)
        {
            if (Matches(kv.Key))
            {
                return kv.Value.Trim();
            }
        }

        return null;
    }

    public bool IsSet(IReadOnlyDictionary<string, string> settings) => Find(settings) is not null;

    /// <summary>Whether <paramref name="text"/> is a value of this key.</summary>
    public abstract bool Accepts(string text);

    /// <summary>"size (int)", as the list of a workload's keys shows it.</summary>
    public override string ToString() => $"{Name} ({Type})";
}

/// <summary>A <see cref="SettingKey"/> whose values read as <typeparamref name="T"/>.</summary>
public sealed class SettingKey<T> : SettingKey
{
    private readonly Func<string, (bool Ok, T Value)> _parse;

    public SettingKey(
        string name,
        string type,
        T defaultValue,
        string defaultText,
        string meaning,
        string expected,
        Func<string, (bool Ok, T Value)> parse)
        : base(name, type, defaultText, meaning, expected)
    {
        DefaultValue = defaultValue;
        _parse = parse;
    }

    /// <summary>
    /// The value when the key is not given (for a key whose default depends on the device, the
    /// caller's fallback counts instead).
    /// </summary>
    public T DefaultValue { get; }

    public override bool Accepts(string text) => _parse(text.Trim()).Ok;

    /// <summary>The value given, else <see cref="DefaultValue"/>; a bad value is bad input.</summary>
    public T Get(IReadOnlyDictionary<string, string> settings) => Get(settings, DefaultValue);

    /// <summary>The value given, else <paramref name="fallback"/>; a bad value is bad input.</summary>
    public T Get(IReadOnlyDictionary<string, string> settings, T fallback)
    {
        if (Find(settings) is not { } text)
        {
            return fallback;
        }

        (bool ok, T value) = _parse(text);
        return ok ? value : throw HarnessException.BadInput($"--set {Name}={text}: expected {Expected}.");
    }
}

/// <summary>Declares keys of the usual types.</summary>
public static class Setting
{
    /// <summary>
    /// An integer of at least <paramref name="min"/> and, when <paramref name="max"/> is given, at most
    /// it; its type then reads "int 0..255".
    /// </summary>
    public static SettingKey<int> Int(
        string name, int defaultValue, int min, string meaning, string? defaultText = null, int? max = null) =>
        new(name, max is null ? "int" : $"int {min}..{max}", defaultValue,
            defaultText ?? defaultValue.ToString(CultureInfo.InvariantCulture), meaning,
            max is null ? $"an integer of at least {min}" : $"an integer from {min} to {max}",
            t => int.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v)
                && v >= min && v <= (max ?? int.MaxValue)
                ? (true, v)
                : (false, 0));

    /// <summary>On or off: 1/0, true/false, on/off, yes/no.</summary>
    public static SettingKey<bool> Flag(string name, bool defaultValue, string meaning) =>
        new(name, "flag", defaultValue, defaultValue ? "1" : "0", meaning, "1 or 0 (true/false, on/off)", t => t.ToLowerInvariant() switch
        {
            "1" or "true" or "on" or "yes" => (true, true),
            "0" or "false" or "off" or "no" => (true, false),
            _ => (false, false),
        });

    /// <summary>One of <paramref name="values"/> (any case), read in lower case.</summary>
    public static SettingKey<string> Choice(string name, string defaultValue, string meaning, params string[] values) =>
        new(name, string.Join('|', values), defaultValue, defaultValue, meaning, $"one of {string.Join(", ", values)}",
            t => values.Contains(t.ToLowerInvariant(), StringComparer.Ordinal) ? (true, t.ToLowerInvariant()) : (false, ""));

    /// <summary>Any text that is not empty.</summary>
    public static SettingKey<string?> Text(string name, string defaultText, string meaning) =>
        new(name, "text", null, defaultText, meaning, "a text that is not empty", t => t.Length > 0 ? (true, t) : (false, null));

    /// <summary>A duration longer than zero, in the one grammar (<see cref="Durations"/>).</summary>
    public static SettingKey<TimeSpan?> Duration(string name, string defaultText, string meaning) =>
        new(name, "duration", null, defaultText, meaning, $"a duration longer than zero, {Durations.Examples}",
            t => Durations.TryParse(t) is { } d && d > TimeSpan.Zero ? (true, d) : (false, null));

    /// <summary>A number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static SettingKey<double> Number(string name, double defaultValue, double min, double max, string meaning) =>
        new(name, "number", defaultValue, defaultValue.ToString(CultureInfo.InvariantCulture), meaning,
            string.Create(CultureInfo.InvariantCulture, $"a number from {min} to {max}"),
            t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= min && v <= max
                ? (true, v)
                : (false, 0));

    /// <summary>A number from <paramref name="min"/> to <paramref name="max"/>, or <c>none</c> (null).</summary>
    public static SettingKey<double?> NumberOrNone(string name, double? defaultValue, double min, double max, string meaning) =>
        new(name, "number|none", defaultValue, defaultValue?.ToString(CultureInfo.InvariantCulture) ?? "none", meaning,
            string.Create(CultureInfo.InvariantCulture, $"a number from {min} to {max}, or none"),
            t => t.Equals("none", StringComparison.OrdinalIgnoreCase)
                ? (true, null)
                : double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= min && v <= max
                    ? (true, v)
                    : (false, null));
}
