using System.Globalization;

namespace Harness.Datasets;

/// <summary>
/// A dataset as the command line names it (<c>--dataset</c>), parsed once at the edge: its settings
/// checked and its file read (a trace's lines, a ShareGPT file's conversations), so that a bad spec or
/// file is bad input before anything connects. <see cref="Open"/> makes the prompts later, when the
/// run's seed and the endpoint's tokenizer are known; a trace's schedule comes from the same read.
/// </summary>
public abstract record DatasetSpec
{
    /// <summary>The dataset as named on the command line (the result's <c>dataset</c>).</summary>
    public required string Text { get; init; }

    /// <summary>
    /// Parses <c>synthetic:…</c>, <c>sharegpt:FILE…</c> or <c>trace:FILE…</c>; a synthetic one's <c>in</c>
    /// and <c>out</c> default to <paramref name="defaultInput"/>/<paramref name="defaultOutput"/> (128),
    /// and a ShareGPT reply is cut at <paramref name="defaultOutput"/>.
    /// </summary>
    public static DatasetSpec Parse(string spec, int? defaultInput = null, int? defaultOutput = null)
    {
        string text = spec.Trim();
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string kind = (colon < 0 ? text : text[..colon]).ToLowerInvariant();
        string args = colon < 0 ? "" : text[(colon + 1)..];
        return kind switch
        {
            "synthetic" => SyntheticSpec.Parse(text, args, defaultInput, defaultOutput),
            "sharegpt" => ShareGptSpec.Parse(text, args, defaultOutput),
            "trace" => TraceSpec.Parse(text, args),
            _ => throw HarnessException.BadInput($"Dataset '{spec}' is not one of {PromptDataset.Help}."),
        };
    }

    /// <summary>
    /// Synthetic prompts of <paramref name="input"/> tokens asking for <paramref name="output"/>
    /// (128 each by default): no --dataset given.
    /// </summary>
    public static SyntheticSpec Synthetic(int? input, int? output)
    {
        int i = input ?? 128, o = output ?? 128;
        return new SyntheticSpec { Text = string.Create(CultureInfo.InvariantCulture, $"synthetic:in={i},out={o}"), In = i, Out = o };
    }

    /// <summary>The dataset's items for a run of <paramref name="seed"/>, counted by <paramref name="tokenizer"/> when given.</summary>
    public abstract PromptDataset Open(int seed, ITokenCounter? tokenizer);
}

/// <summary><c>synthetic:in=N,out=M[,in_std=S,out_std=S]</c>.</summary>
public sealed record SyntheticSpec : DatasetSpec
{
    public double In { get; init; } = 128;

    public double Out { get; init; } = 128;

    public double InStd { get; init; }

    public double OutStd { get; init; }

    public override PromptDataset Open(int seed, ITokenCounter? tokenizer) => new SyntheticDataset(this, seed, tokenizer);

    internal static SyntheticSpec Parse(string text, string args, int? defaultInput, int? defaultOutput)
    {
        string[] parts = args.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Dictionary<string, string> s = PromptDataset.Settings(text, parts, "in", "out", "in_std", "out_std");
        return new SyntheticSpec
        {
            Text = text,
            In = PromptDataset.Number(text, s, "in", defaultInput ?? 128, 1),
            Out = PromptDataset.Number(text, s, "out", defaultOutput ?? 128, 1),
            InStd = PromptDataset.Number(text, s, "in_std", 0, 0),
            OutStd = PromptDataset.Number(text, s, "out_std", 0, 0),
        };
    }
}

/// <summary><c>sharegpt:FILE.json[,turns=all]</c>: the file's conversations, read when parsed.</summary>
public sealed record ShareGptSpec : DatasetSpec
{
    public required IReadOnlyList<IReadOnlyList<LlmMessage>> Conversations { get; init; }

    public bool AllTurns { get; init; }

    /// <summary>A reply's length is cut here (--new-tokens); null keeps the recorded one.</summary>
    public int? MaxOutput { get; init; }

    public override PromptDataset Open(int seed, ITokenCounter? tokenizer) =>
        ShareGptDataset.Build(Text, Conversations, AllTurns, tokenizer, MaxOutput);

    internal static ShareGptSpec Parse(string text, string args, int? maxOutput)
    {
        (string file, List<string> parts) = PromptDataset.FileAndSettings(text, args);
        Dictionary<string, string> s = PromptDataset.Settings(text, parts, "turns");
        string turns = s.GetValueOrDefault("turns", "first").ToLowerInvariant();
        if (turns is not ("first" or "all"))
        {
            throw HarnessException.BadInput($"Dataset '{text}': turns={turns} must be first or all.");
        }

        return new ShareGptSpec
        {
            Text = text,
            Conversations = ShareGptDataset.ReadConversations(file),
            AllTurns = turns == "all",
            MaxOutput = maxOutput,
        };
    }
}

/// <summary><c>trace:FILE.jsonl[,block=512]</c>: the trace read once, for both its prompts and its schedule.</summary>
public sealed record TraceSpec : DatasetSpec
{
    public required TraceFile Trace { get; init; }

    public int BlockTokens { get; init; } = MooncakeTrace.DefaultBlockTokens;

    public override PromptDataset Open(int seed, ITokenCounter? tokenizer) =>
        MooncakeTrace.Build(Text, Trace, BlockTokens, seed, tokenizer);

    internal static TraceSpec Parse(string text, string args)
    {
        (string file, List<string> parts) = PromptDataset.FileAndSettings(text, args);
        Dictionary<string, string> s = PromptDataset.Settings(text, parts, "block");
        int block = (int)PromptDataset.Number(text, s, "block", MooncakeTrace.DefaultBlockTokens, 1);
        return new TraceSpec { Text = text, Trace = TraceFile.Read(file), BlockTokens = block };
    }
}
