using System.Globalization;
using System.Text.RegularExpressions;

namespace Harness.Decoding;

/// <summary>
/// A server's refusal of a request longer than its context, read from the error message: the
/// context (<paramref name="Context"/> tokens), and where the message says them, the tokens the
/// request asked for in all (<paramref name="Requested"/>) and those of its prompt
/// (<paramref name="Prompt"/>).
/// </summary>
public sealed partial record ContextLimit(int Context, int? Requested, int? Prompt)
{
    /// <summary>
    /// Reads the numbers of a context-length error in the phrasings of OpenAI, vLLM and
    /// <c>harness serve</c> ("This model's maximum context length is N tokens. However, you requested
    /// M tokens (P in the messages, K for the completion)", "... your request has P input tokens"),
    /// SGLang ("... the model's context length (N tokens)") and TGI ("must be &lt;= N. Given: P
    /// `inputs` tokens and K `max_new_tokens`"). Null when the message is no such error.
    /// </summary>
    public static ContextLimit? TryParse(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return null;
        }

        int? prompt = Number(PromptPattern().Match(message));
        int? completion = Number(CompletionPattern().Match(message));
        Match tgi = TgiPattern().Match(message);
        if (tgi.Success)
        {
            int p = Parse(tgi.Groups[2].Value), k = Parse(tgi.Groups[3].Value);
            return new ContextLimit(Parse(tgi.Groups[1].Value), p + k, p);
        }

        if (Number(ContextPattern().Match(message)) is not { } context)
        {
            return null;
        }

        int? requested = Number(RequestedPattern().Match(message)) ?? (prompt is { } a && completion is { } b ? a + b : null);
        return new ContextLimit(context, requested, prompt);
    }

    /// <summary>The numbers as a phrase: "1024 tokens of context; 1100 requested (1000 in the prompt)".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Context} tokens of context{(Requested is { } r ? $"; {r} requested" : "")}{(Prompt is { } p ? $" ({p} in the prompt)" : "")}");

    private static int? Number(Match m)
    {
        if (!m.Success)
        {
            return null;
        }

        Group g = m.Groups.Cast<Group>().Skip(1).FirstOrDefault(g => g.Success) ?? m.Groups[1];
        return g.Success ? Parse(g.Value) : null;
    }

    private static int Parse(string digits) =>
        int.TryParse(digits.Replace(",", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            ? n
            : int.MaxValue;

    [GeneratedRegex(@"maximum context length (?:is|of) ([\d,]+) tokens|context length \(([\d,]+) tokens\)", RegexOptions.IgnoreCase)]
    private static partial Regex ContextPattern();

    [GeneratedRegex(@"requested (?:a total of )?([\d,]+) tokens", RegexOptions.IgnoreCase)]
    private static partial Regex RequestedPattern();

    [GeneratedRegex(
        @"\(([\d,]+) in the (?:messages|prompt)|([\d,]+) tokens from the input|has ([\d,]+) input tokens" +
        @"|(?:messages|prompt) (?:are|is) ([\d,]+) tokens|resulted in ([\d,]+) tokens|input \(([\d,]+) tokens\)",
        RegexOptions.IgnoreCase)]
    private static partial Regex PromptPattern();

    [GeneratedRegex(@"([\d,]+) (?:tokens )?(?:for|in) the completion", RegexOptions.IgnoreCase)]
    private static partial Regex CompletionPattern();

    [GeneratedRegex(@"must be <= ([\d,]+)\. Given: ([\d,]+) `?inputs`? tokens and ([\d,]+) `?max_new_tokens", RegexOptions.IgnoreCase)]
    private static partial Regex TgiPattern();
}
