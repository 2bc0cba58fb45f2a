using Microsoft.ML.Tokenizers;

namespace Harness.Tokenization;

/// <summary>
/// A pre-tokenizer that splits the words of another into pieces of at most <see cref="Bound"/>
/// characters before BPE merges them. Microsoft.ML.Tokenizers' BPE (Tiktoken and Hugging Face style
/// alike) takes time growing with the square of one word's length, so one request holding a long run
/// of letters (20 kB of 'a') could hold a core for seconds, a 1 MiB one for minutes; with pieces of
/// bounded length the work is linear in the text. Words of up to <see cref="Bound"/> characters (all
/// ordinary text) come out as the inner pre-tokenizer gave them, so their tokens are exactly the
/// reference tokenizer's; a longer word is cut every <see cref="Bound"/> characters (never inside a
/// surrogate pair) and no merge crosses a cut, so its tokens may differ from the reference's.
/// </summary>
public sealed class BoundedPreTokenizer : PreTokenizer
{
    /// <summary>The default longest piece: 256 characters, longer than any token of GPT-2 or of common vocabularies.</summary>
    public const int DefaultBound = 256;

    private readonly PreTokenizer _inner;

    public BoundedPreTokenizer(PreTokenizer inner, int bound = DefaultBound)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(bound, 2);
        _inner = inner;
        Bound = bound;
    }

    /// <summary>The most characters one piece holds.</summary>
    public int Bound { get; }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) =>
        string.IsNullOrEmpty(text) ? [] : Split(_inner.PreTokenize(text), text.AsSpan());

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) =>
        text.IsEmpty ? [] : Split(_inner.PreTokenize(text), text);

    private List<(int Offset, int Length)> Split(IEnumerable<(int Offset, int Length)> words, ReadOnlySpan<char> text)
    {
        var pieces = new List<(int Offset, int Length)>();
        foreach ((int offset, int length) in words)
        {
            int at = offset;
            int end = offset + length;
            while (end - at > Bound)
            {
                // A character outside the BMP is two chars; cutting between them would change its bytes.
                int n = char.IsHighSurrogate(text[at + Bound - 1]) && char.IsLowSurrogate(text[at + Bound]) ? Bound - 1 : Bound;
                pieces.Add((at, n));
                at += n;
            }

            pieces.Add((at, end - at));
        }

        return pieces;
    }
}
