using System.Globalization;
using System.Text.RegularExpressions;
using Harness.Backends;
using Harness.Models;

namespace Harness.Cli.Commands;

/// <summary>Parses the textual option values (durations, shapes, key=value pairs) into typed ones.</summary>
public static partial class OptionParsers
{
    /// <summary>"30s", "500ms", "2m", "1h", "1.5s"; a bare number means seconds.</summary>
    public static TimeSpan Duration(string text, string option)
    {
        Match m = DurationPattern().Match(text.Trim());
        if (!m.Success)
        {
            throw HarnessException.BadInput($"{option} '{text}' is not a duration; use e.g. 30s, 500ms, 2m or 1h.");
        }

        double v = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        TimeSpan span = m.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(v),
            "" or "s" => TimeSpan.FromSeconds(v),
            "m" => TimeSpan.FromMinutes(v),
            "h" => TimeSpan.FromHours(v),
            _ => throw HarnessException.BadInput($"{option} '{text}' has an unknown unit."),
        };
        if (span > TimeSpan.FromDays(7))
        {
            throw HarnessException.BadInput($"{option} '{text}' is longer than a week.");
        }

        return span;
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

    /// <summary>Settings that have options of their own, so that their values never travel as strings.</summary>
    private static readonly Dictionary<string, string> TypedSettings = new(StringComparer.Ordinal)
    {
        ["model_config"] = "--model-config",
        ["prompt_tokens"] = "--prompt-tokens",
        ["new_tokens"] = "--new-tokens",
        ["dtype"] = "--dtype",
        ["libtorch"] = "--libtorch",
    };

    /// <summary>The workload settings of <c>--set key=value</c>; a key with an option of its own is refused.</summary>
    public static Dictionary<string, string> WorkloadSettings(IEnumerable<string> sets)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string text in sets)
        {
            (string k, string v) = Setting(text);
            if (TypedSettings.TryGetValue(k.Replace('-', '_'), out string? option))
            {
                throw HarnessException.BadInput($"--set {k} is an option of its own: use {option} {v}.");
            }

            settings[k] = v;
        }

        return settings;
    }

    /// <summary>
    /// <c>--llm-set key=value</c> into the options of a decoder backend: model_config, dtype, threads
    /// and libtorch typed (a bad value is bad input here), every other key (spin, weight_seed...) a setting.
    /// </summary>
    public static WorkloadOptions DecoderOptions(IEnumerable<string> sets)
    {
        var options = new WorkloadOptions();
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string text in sets)
        {
            (string k, string v) = Setting(text);
            switch (k.Replace('-', '_'))
            {
                case "model_config":
                    options = options with { ModelConfig = ModelCatalog.Load(v) };
                    break;
                case "dtype":
                    options = options with { DType = TensorDTypes.Parse(v) };
                    break;
                case "threads":
                    options = options with
                    {
                        Threads = int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1
                            ? n
                            : throw HarnessException.BadInput($"--llm-set threads '{v}' must be an integer of at least 1."),
                    };
                    break;
                case "libtorch":
                    options = options with { LibTorch = v };
                    break;
                case "prompt_tokens" or "new_tokens":
                    throw HarnessException.BadInput($"--llm-set {k}: the agents' steps set their own prompt and new tokens.");
                default:
                    settings[k] = v;
                    break;
            }
        }

        return options with { Extra = settings };
    }

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

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")]
    private static partial Regex DurationPattern();
}
