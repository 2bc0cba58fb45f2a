using System.Text;

namespace Harness.Tokenization;

/// <summary>
/// A byte-level BPE vocabulary of any size from 256 up, cut from GPT-2's: ids below the size are
/// GPT-2's (its 256 byte tokens first in rank order, then its merged tokens by rank), the last id is
/// <c>&lt;|endoftext|&gt;</c> (none at 256: every id is a byte), and ids past GPT-2's 50,257 are
/// reserved special tokens. Tokens are written in GPT-2's byte-to-unicode alphabet, as tokenizer.json
/// and GGUF's gpt2 vocabulary write them; each merged token gets the merge that tiktoken's BPE over the earlier tokens ends with.
/// What <c>harness export</c> gives a seeded model, so that its vocabulary matches its embedding.
/// </summary>
public sealed class ByteLevelVocabulary
{
    public const string EndOfTextToken = "<|endoftext|>";

    private static readonly string[] ByteChars = BuildByteChars();

    private ByteLevelVocabulary(string[] tokens, List<string> merges, int? endOfText, int regular)
    {
        Tokens = tokens;
        Merges = merges;
        EndOfText = endOfText;
        RegularTokens = regular;
    }

    /// <summary>Every id's token, in the byte-to-unicode alphabet for regular ids.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>"left right" merges, in rank order.</summary>
    public IReadOnlyList<string> Merges { get; }

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c>; null for a vocabulary of bytes only.</summary>
    public int? EndOfText { get; }

    /// <summary>Ids below this are BPE tokens; the rest are special.</summary>
    public int RegularTokens { get; }

    public static ByteLevelVocabulary ForSize(int size)
    {
        if (size < 256)
        {
            throw HarnessException.BadInput($"A byte-level vocabulary needs at least 256 ids; the model has {size}.");
        }

        TextTokenizer gpt2 = TextTokenizer.Gpt2;
        int regular = size == 256 ? 256 : Math.Min(size - 1, gpt2.EndOfText);
        var tokens = new string[size];
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var merges = new List<string>();
        for (int id = 0; id < regular; id++)
        {
            string token = ToUnicode(gpt2.Bytes(id));
            tokens[id] = token;
            ids[token] = id;
            if (token.Length > 1 && Merge(token, id, ids) is { } merge)
            {
                merges.Add(merge);
            }
        }

        int? eot = size == 256 ? null : regular;
        if (eot is { } e)
        {
            tokens[e] = EndOfTextToken;
        }

        for (int id = regular + 1; id < size; id++)
        {
            tokens[id] = $"<|reserved_{id}|>";
        }

        return new ByteLevelVocabulary(tokens, merges, eot, regular);
    }

    /// <summary>Ids back into text (special tokens as written; bytes that are not valid UTF-8 become U+FFFD).</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (id >= RegularTokens)
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(Tokens[id]));
                continue;
            }

            foreach (char ch in Tokens[id])
            {
                bytes.Add((byte)Array.IndexOf(ByteChars, ch.ToString()));
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>The bytes a token in GPT-2's byte-to-unicode alphabet stands for; null when a character is outside it.</summary>
    public static byte[]? FromUnicode(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            int b = Array.IndexOf(ByteChars, token[i].ToString());
            if (b < 0)
            {
                return null;
            }

            bytes[i] = (byte)b;
        }

        return bytes;
    }

    /// <summary>GPT-2's byte-to-unicode map: printable bytes stand for themselves, the others for code points from 256 up.</summary>
    public static string ToUnicode(ReadOnlySpan<byte> bytes)
    {
        var s = new StringBuilder(bytes.Length);
        foreach (byte b in bytes)
        {
            s.Append(ByteChars[b]);
        }

        return s.ToString();
    }

    /// <summary>
    /// The merge that makes a token: its bytes merged as tiktoken's BPE does with the earlier tokens only
    /// (the adjacent pair whose join has the lowest id first) end as two parts, the pair that makes it.
    /// </summary>
    private static string? Merge(string token, int id, Dictionary<string, int> ids)
    {
        var parts = token.Select(ch => ch.ToString()).ToList();
        while (parts.Count > 2)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < parts.Count; i++)
            {
                if (ids.TryGetValue(parts[i] + parts[i + 1], out int rank) && rank < id && rank < bestRank)
                {
                    (best, bestRank) = (i, rank);
                }
            }

            if (best < 0)
            {
                return null;
            }

            parts[best] += parts[best + 1];
            parts.RemoveAt(best + 1);
        }

        return parts.Count == 2 ? parts[0] + " " + parts[1] : null;
    }

    private static string[] BuildByteChars()
    {
        var chars = new string[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            chars[b] = ((char)(printable ? b : next++)).ToString();
        }

        return chars;
    }
}
