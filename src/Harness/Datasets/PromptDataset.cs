using System.Globalization;
using Harness.Metrics;

namespace Harness.Datasets;

/// <summary>
/// One request of a dataset: its messages, the prompt and output lengths it asks for, and, for a
/// replayed trace, when it arrives (or, for a later turn of a session, how long after the previous
/// turn ended).
/// </summary>
public sealed record PromptItem
{
    /// <summary>The request's own messages; a later turn of a session adds only its new user message (the history is threaded in at run time).</summary>
    public required IReadOnlyList<LlmMessage> Messages { get; init; }

    /// <summary>Prompt tokens intended (exact with a tokenizer, about that many without).</summary>
    public required int InputTokens { get; init; }

    /// <summary>Tokens to generate (max_tokens).</summary>
    public required int OutputTokens { get; init; }

    /// <summary>Seconds from the trace's start at which it arrives; null when it follows its session's previous turn.</summary>
    public double? ArrivalS { get; init; }

    /// <summary>The multi-turn session it belongs to; null for a single request.</summary>
    public string? Session { get; init; }

    /// <summary>Seconds after the previous turn of its session ended before it is sent.</summary>
    public double DelayS { get; init; }
}

/// <summary>
/// Where a run's requests come from: <c>synthetic:in=512,out=128[,in_std=..,out_std=..]</c>,
/// <c>sharegpt:FILE.json[,turns=all]</c> or <c>trace:FILE.jsonl[,block=512]</c>. Items are fixed by the
/// run's seed; a dataset of files repeats from its start when a run asks for more requests than it has.
/// </summary>
public abstract class PromptDataset
{
    public const string Help = "synthetic:in=N,out=M[,in_std=S,out_std=S] | sharegpt:FILE.json[,turns=all] | trace:FILE.jsonl[,block=512]";

    /// <summary>The dataset as named on the command line.</summary>
    public abstract string Spec { get; }

    /// <summary>Distinct items before the dataset repeats; int.MaxValue for generated ones.</summary>
    public abstract int Count { get; }

    /// <summary>True when prompt lengths were counted by a tokenizer (exact), false when words stood for tokens.</summary>
    public bool Exact { get; protected init; }

    public abstract PromptItem Item(long index);

    /// <summary>Whether its items carry arrival times to replay (a trace).</summary>
    public virtual bool HasSchedule => false;

    /// <summary>Facts for the result's config.</summary>
    public virtual Dictionary<string, object?> Details() => new()
    {
        [ConfigKeys.Dataset] = Spec,
        [ConfigKeys.DatasetItems] = Count == int.MaxValue ? null : Count,
        [ConfigKeys.PromptLengths] = Exact
            ? "exact by the tokenizer"
            : "approximate (a word per token), checked against the server's usage",
    };

    /// <summary>Parses a dataset spec and opens it (<see cref="DatasetSpec.Parse"/>, then <see cref="DatasetSpec.Open"/>).</summary>
    public static PromptDataset Parse(string spec, int seed, ITokenCounter? tokenizer, int? defaultInput = null, int? defaultOutput = null) =>
        DatasetSpec.Parse(spec, defaultInput, defaultOutput).Open(seed, tokenizer);

    /// <summary>key=value pairs after the kind (and the file); an unknown key is bad input.</summary>
    internal static Dictionary<string, string> Settings(string spec, IEnumerable<string> parts, params string[] known)
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string part in parts)
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw HarnessException.BadInput($"Dataset '{spec}': '{part}' is not key=value.");
            }

            string key = part[..eq].Trim();
            if (!known.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                throw HarnessException.BadInput($"Dataset '{spec}': unknown setting '{key}'; known: {string.Join(", ", known)}.");
            }

            settings[key] = part[(eq + 1)..].Trim();
        }

        return settings;
    }

    internal static double Number(string spec, Dictionary<string, string> settings, string key, double fallback, double min)
    {
        if (!settings.TryGetValue(key, out string? text))
        {
            return fallback;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= min && double.IsFinite(v)
            ? v
            : throw HarnessException.BadInput($"Dataset '{spec}': {key}={text} must be a number of at least {min.ToString(CultureInfo.InvariantCulture)}.");
    }

    /// <summary>The file part of "FILE[,key=value...]": settings are the trailing parts that look like key=value.</summary>
    internal static (string File, List<string> Settings) FileAndSettings(string spec, string args)
    {
        var parts = args.Split(',').ToList();
        var settings = new List<string>();
        while (parts.Count > 1 && parts[^1].Contains('=', StringComparison.Ordinal))
        {
            settings.Insert(0, parts[^1]);
            parts.RemoveAt(parts.Count - 1);
        }

        string file = string.Join(',', parts).Trim();
        if (file.Length == 0)
        {
            throw HarnessException.BadInput($"Dataset '{spec}' names no file.");
        }

        if (!File.Exists(file))
        {
            throw HarnessException.BadInput($"Dataset file '{file}' does not exist.");
        }

        return (file, settings);
    }

    /// <summary>Tokens of a text: the tokenizer's count, else about four characters per token.</summary>
    internal static int Tokens(string text, ITokenCounter? tokenizer) => tokenizer?.Count(text) ?? Math.Max(1, (text.Length + 3) / 4);
}

/// <summary>
/// Generated prompts of a given length (normal around <c>in</c> with <c>in_std</c>, at least 1), each
/// its own text (no prefix shared between requests), asking for <c>out</c> tokens (normal with <c>out_std</c>).
/// </summary>
public sealed class SyntheticDataset : PromptDataset
{
    private readonly int _seed;
    private readonly ITokenCounter? _tokenizer;

    internal SyntheticDataset(SyntheticSpec spec, int seed, ITokenCounter? tokenizer)
    {
        Spec = spec.Text;
        _seed = seed;
        _tokenizer = tokenizer;
        Exact = tokenizer is not null;
        In = spec.In;
        Out = spec.Out;
        InStd = spec.InStd;
        OutStd = spec.OutStd;
    }

    public override string Spec { get; }

    public override int Count => int.MaxValue;

    public double In { get; }

    public double Out { get; }

    public double InStd { get; }

    public double OutStd { get; }

    public override PromptItem Item(long index)
    {
        var rng = new Random(Seeds.Mix(_seed, index, 17));
        int input = Draw(rng, In, InStd);
        int output = Draw(rng, Out, OutStd);
        string text = SyntheticText.Of(input, ((long)_seed << 32) ^ index, _tokenizer);
        return new PromptItem { Messages = [LlmMessage.User(text)], InputTokens = input, OutputTokens = output };
    }

    private static int Draw(Random rng, double mean, double std)
    {
        if (std <= 0)
        {
            return (int)Math.Round(mean);
        }

        // Box-Muller: one normal draw.
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        double z = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        return Math.Max(1, (int)Math.Round(mean + (std * z)));
    }
}
