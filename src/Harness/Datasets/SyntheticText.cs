using System.Text;

namespace Harness.Datasets;

/// <summary>Counts the tokens of a text the way a model's tokenizer does (<c>--tokenizer tokenizer.json</c>).</summary>
public interface ITokenCounter
{
    /// <summary>What it is, for the result: the file and the kind of tokenizer.</summary>
    string Name { get; }

    int Count(string text);

    /// <summary>How many characters of <paramref name="text"/> make its first <paramref name="tokens"/> tokens; -1 when this counter cannot say.</summary>
    int PrefixLength(string text, int tokens) => -1;
}

/// <summary>
/// Deterministic English-like text of a given length in tokens, for prompts whose length is what
/// matters. Words are drawn by a seed from common words that are one token each, with their leading
/// space, in the GPT-2, cl100k and Llama vocabularies, so without a tokenizer N words are about N
/// tokens; with one, the word count is adjusted until the tokenizer counts exactly N. The same seed
/// gives the same text, so blocks that share a seed share their tokens (prefix caches see real reuse).
/// </summary>
public static class SyntheticText
{
    private static readonly string[] Words =
    [
        "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not", "he", "this",
        "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you", "were", "their", "one", "all",
        "we", "can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who", "so", "no", "time", "people",
        "year", "way", "day", "man", "world", "life", "hand", "part", "place", "work", "week", "case", "point", "number",
        "group", "problem", "fact", "water", "system", "program", "question", "government", "company", "book", "house", "city",
        "state", "family", "school", "country", "service", "market", "power", "money", "music", "line", "game", "order", "data",
        "file", "value", "table", "model", "test", "code", "name", "list", "page", "key", "type", "text", "field", "error",
    ];

    /// <summary>The text of exactly <paramref name="tokens"/> tokens by <paramref name="counter"/>, or of that many words without one.</summary>
    public static string Of(int tokens, long seed, ITokenCounter? counter = null)
    {
        if (tokens <= 0)
        {
            return "";
        }

        string text = Build(tokens, seed);
        if (counter is null)
        {
            return text;
        }

        // Words are about one token each: correct the word count a few times, then trim to the exact length.
        int words = tokens;
        for (int round = 0; round < 8; round++)
        {
            int have = counter.Count(text);
            if (have == tokens)
            {
                return text;
            }

            words = Math.Max(1, words + (tokens - have));
            text = Build(words, seed);
        }

        // Last resort (a tokenizer that merges words): drop or add one word at a time.
        int count = counter.Count(text);
        while (count > tokens && words > 1)
        {
            text = Build(--words, seed);
            count = counter.Count(text);
        }

        while (count < tokens)
        {
            text = Build(++words, seed);
            count = counter.Count(text);
        }

        // Words of several tokens each overshoot: cut the last word at the token where the length is reached.
        if (count > tokens && counter.PrefixLength(text, tokens) is > 0 and var cut)
        {
            string shorter = text[..cut];
            if (counter.Count(shorter) == tokens)
            {
                return shorter;
            }
        }

        return text;
    }

    /// <summary><paramref name="words"/> seeded words, each with a leading space (so that texts concatenate token by token).</summary>
    public static string Build(int words, long seed)
    {
        var sb = new StringBuilder(words * 6);
        ulong state = (ulong)seed ^ 0x9E3779B97F4A7C15UL;
        for (int i = 0; i < words; i++)
        {
            state = Next(state);
            sb.Append(' ').Append(Words[(int)(state % (ulong)Words.Length)]);
        }

        return sb.ToString();
    }

    private static ulong Next(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
