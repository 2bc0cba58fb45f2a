using System.Text;

namespace Harness.Tokenization;

/// <summary>
/// A SentencePiece-style (Llama 2 layout) vocabulary of any size from 259 up, deterministic: id 0
/// <c>&lt;unk&gt;</c>, 1 <c>&lt;s&gt;</c> (BOS), 2 <c>&lt;/s&gt;</c> (EOS), ids 3 to 258 the byte tokens
/// <c>&lt;0x00&gt;</c>..<c>&lt;0xFF&gt;</c> (score 0), then pieces: GPT-2's tokens in rank order whose
/// bytes are whole UTF-8 text and whose characters are all pieces already (a single character always
/// is one), spaces written "▁", each piece once, the i-th scored -i (so merges follow GPT-2's ranks).
/// What <c>harness export --tokenizer spm</c> gives a seeded model.
/// </summary>
public sealed class SentencePieceVocabulary
{
    public const int Unknown = 0;
    public const int BeginOfText = 1;
    public const int EndOfText = 2;

    /// <summary>The fewest ids: the three special tokens and 256 byte tokens.</summary>
    public const int MinimumSize = 259;

    /// <summary>GGUF's token types: 1 normal, 2 unknown, 3 control, 6 byte.</summary>
    public const int NormalType = 1, UnknownType = 2, ControlType = 3, ByteType = 6;

    private SentencePieceVocabulary(string[] tokens, float[] scores, int[] types)
    {
        Tokens = tokens;
        Scores = scores;
        Types = types;
    }

    /// <summary>Every id's piece.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>Every id's score (higher merges first).</summary>
    public IReadOnlyList<float> Scores { get; }

    /// <summary>Every id's GGUF token type.</summary>
    public IReadOnlyList<int> Types { get; }

    public static SentencePieceVocabulary ForSize(int size)
    {
        if (size < MinimumSize)
        {
            throw HarnessException.BadInput($"A SentencePiece vocabulary needs at least {MinimumSize} ids (<unk>, <s>, </s> and 256 "
                + $"byte tokens); the model has {size}.");
        }

        var tokens = new List<string>(size) { "<unk>", "<s>", "</s>" };
        var types = new List<int>(size) { UnknownType, ControlType, ControlType };
        var scores = new List<float>(size) { 0, 0, 0 };
        for (int b = 0; b < 256; b++)
        {
            tokens.Add(SentencePieceBpe.ByteToken(b));
            types.Add(ByteType);
            scores.Add(0);
        }

        var seen = new HashSet<string>(tokens, StringComparer.Ordinal);
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        TextTokenizer gpt2 = TextTokenizer.Gpt2;
        for (int id = 0; id < gpt2.EndOfText && tokens.Count < size; id++)
        {
            string text;
            try
            {
                text = strict.GetString(gpt2.Bytes(id));
            }
            catch (DecoderFallbackException)
            {
                continue;
            }

            if (text.Contains(SentencePieceBpe.Space, StringComparison.Ordinal))
            {
                continue;
            }

            // As SentencePiece's own vocabularies: every character of a piece is a piece (else it would merge by score but have
            // no merge in tokenizer.json, and the two files would tokenize differently).
            string piece = text.Replace(' ', SentencePieceBpe.Space);
            bool single = piece.EnumerateRunes().Count() == 1;
            if ((single || piece.EnumerateRunes().All(r => seen.Contains(r.ToString()))) && seen.Add(piece))
            {
                scores.Add(-(tokens.Count - MinimumSize));
                tokens.Add(piece);
                types.Add(NormalType);
            }
        }

        // Past GPT-2's usable tokens (a vocabulary over ~50k): reserved control tokens, as Llama's files have.
        while (tokens.Count < size)
        {
            scores.Add(0);
            tokens.Add($"<reserved_{tokens.Count}>");
            types.Add(ControlType);
        }

        return new SentencePieceVocabulary(tokens.ToArray(), scores.ToArray(), types.ToArray());
    }

    /// <summary>Ids that are matched as whole strings in text: the unknown and control tokens.</summary>
    public IEnumerable<int> SpecialIds => Enumerable.Range(0, Tokens.Count).Where(i => Types[i] is UnknownType or ControlType);

    /// <summary>The encoder of this vocabulary, merging by score (as a GGUF file's <c>llama</c> vocabulary is run).</summary>
    public SentencePieceBpe Encoder() => new(Tokens, Scores, null, SpecialIds, Unknown);

    /// <summary>
    /// Hugging Face BPE merges that reproduce the scores (as transformers' SentencePiece converter makes
    /// them): for each piece by descending score, every split into two pieces, ordered by the pieces' ids.
    /// </summary>
    public IReadOnlyList<string> Merges()
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Tokens.Count; i++)
        {
            if (Types[i] == NormalType)
            {
                ids.TryAdd(Tokens[i], i);
            }
        }

        var merges = new List<(float Score, int Piece, int Left, int Right, string Text)>();
        foreach ((string piece, int id) in ids)
        {
            for (int k = 1; k < piece.Length; k++)
            {
                if (char.IsLowSurrogate(piece[k]))
                {
                    continue;
                }

                if (ids.TryGetValue(piece[..k], out int l) && ids.TryGetValue(piece[k..], out int r))
                {
                    merges.Add((Scores[id], id, l, r, piece[..k] + " " + piece[k..]));
                }
            }
        }

        return merges.OrderByDescending(m => m.Score).ThenBy(m => m.Piece).ThenBy(m => m.Left).ThenBy(m => m.Right)
            .Select(m => m.Text).ToList();
    }
}
