using System.Globalization;
using System.Text;

namespace Harness.Tokenization;

/// <summary>How a SentencePiece BPE picks the next merge.</summary>
public enum SentencePieceMerges
{
    /// <summary>The adjacent pair whose joined text is the piece of highest score (a GGUF <c>llama</c> vocabulary, llama.cpp's
    /// llm_tokenizer_spm).</summary>
    ByScore,

    /// <summary>The adjacent pair of lowest rank in the merge list (a Hugging Face tokenizer.json BPE with byte fallback).</summary>
    ByRank,
}

/// <summary>
/// SentencePiece-style BPE (Llama 2, TinyLlama, Mistral): the text gets a leading space (at its start
/// and after each special token), spaces become "▁" (U+2581), each character is a symbol, and the
/// adjacent pair to merge next is the one whose joined text is the piece of highest score (or, for a
/// tokenizer.json, the pair of lowest merge rank), leftmost first on ties; a priority queue makes it
/// O(n log n) in the text. A symbol left that is not a piece becomes its UTF-8 bytes as
/// <c>&lt;0xNN&gt;</c> tokens (byte fallback), or the unknown id. Special tokens written in the text
/// (control, unknown and user-defined pieces) are that token. Decoding turns "▁" back into spaces and
/// byte tokens into their bytes, and drops the space the encoder added. Managed code; thread-safe.
/// </summary>
public sealed class SentencePieceBpe
{
    /// <summary>What spaces become: U+2581, LOWER ONE EIGHTH BLOCK.</summary>
    public const char Space = '\u2581';

    private readonly string[] _pieces;
    private readonly float[] _scores;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Dictionary<(int Left, int Right), int>? _ranks;
    private readonly int[] _byteIds = new int[256];
    private readonly (string Text, int Id)[] _special;
    private readonly HashSet<int> _specialIds;
    private readonly int _unknown;
    private readonly bool _addSpacePrefix;
    private readonly bool _splitWords;

    /// <param name="pieces">Every id's piece ("▁" for spaces; <c>&lt;0xNN&gt;</c> for byte tokens).</param>
    /// <param name="scores">Each piece's score (ByScore); null for ByRank.</param>
    /// <param name="merges">"left right" pairs in rank order (ByRank); null for ByScore.</param>
    /// <param name="special">Ids matched as whole strings in the text before anything else (control, unknown, user-defined).</param>
    /// <param name="unknown">The id for a character that is neither a piece nor has byte tokens; -1 for none (it is dropped).</param>
    /// <param name="addSpacePrefix">Prepend a space to the text and after each special token (SentencePiece's add_dummy_prefix).</param>
    /// <param name="splitWords">Merge within words only (a Metaspace pre-tokenizer with split: each word starts at a "▁").</param>
    public SentencePieceBpe(
        IReadOnlyList<string> pieces,
        IReadOnlyList<float>? scores,
        IReadOnlyList<string>? merges,
        IEnumerable<int> special,
        int unknown,
        bool addSpacePrefix = true,
        bool splitWords = false)
    {
        _pieces = pieces.ToArray();
        _scores = scores?.ToArray() ?? new float[_pieces.Length];
        var ids = new Dictionary<string, int>(_pieces.Length, StringComparer.Ordinal);
        for (int id = 0; id < _pieces.Length; id++)
        {
            ids.TryAdd(_pieces[id], id);
        }

        _lookup = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        Merges = merges is null ? SentencePieceMerges.ByScore : SentencePieceMerges.ByRank;
        if (merges is not null)
        {
            _ranks = [];
            foreach (string merge in merges)
            {
                int space = merge.IndexOf(' ', StringComparison.Ordinal);
                if (space > 0 && ids.TryGetValue(merge[..space], out int l) && ids.TryGetValue(merge[(space + 1)..], out int r))
                {
                    _ranks.TryAdd((l, r), _ranks.Count);
                }
            }
        }

        Array.Fill(_byteIds, -1);
        for (int id = 0; id < _pieces.Length; id++)
        {
            if (ByteOf(_pieces[id]) is { } b && _byteIds[b] < 0)
            {
                _byteIds[b] = id;
            }
        }

        _specialIds = special.Where(id => (uint)id < (uint)_pieces.Length && _pieces[id].Length > 0).ToHashSet();
        // Longest first, so that a special token that starts another is not taken for it.
        _special = _specialIds.Select(id => (_pieces[id], id)).OrderByDescending(s => s.Item1.Length).ThenBy(s => s.id).ToArray();
        _unknown = unknown;
        _addSpacePrefix = addSpacePrefix;
        _splitWords = splitWords;
        Bytes = new byte[_pieces.Length][];
        for (int id = 0; id < _pieces.Length; id++)
        {
            Bytes[id] = ByteOf(_pieces[id]) is { } b && _byteIds[b] == id
                ? [b]
                : Encoding.UTF8.GetBytes(_specialIds.Contains(id) ? _pieces[id] : _pieces[id].Replace(Space, ' '));
        }
    }

    public SentencePieceMerges Merges { get; }

    /// <summary>The bytes each id stands for (a byte token its byte; "▁" as a space; a special token its text).</summary>
    public byte[][] Bytes { get; }

    /// <summary>Whether the encoder adds a leading space (which <see cref="Decode"/> drops).</summary>
    public bool AddsSpacePrefix => _addSpacePrefix;

    /// <summary>The byte of a <c>&lt;0xNN&gt;</c> piece; null for any other piece.</summary>
    public static byte? ByteOf(string piece) =>
        piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b)
            ? b
            : null;

    /// <summary>The piece of a byte: <c>&lt;0xNN&gt;</c>, upper-case hex as SentencePiece writes it.</summary>
    public static string ByteToken(int b) => string.Create(CultureInfo.InvariantCulture, $"<0x{b:X2}>");

    public List<int> Encode(string text) => Encode(text, null);

    /// <summary>Text into ids; <paramref name="ends"/> (when given) gets, per id, the offset in the text where it ends (-1 inside a
    /// character).</summary>
    public List<int> Encode(string text, List<int>? ends)
    {
        var ids = new List<int>();
        int at = 0;
        bool prefix = _addSpacePrefix;
        while (at < text.Length)
        {
            (int next, int special) = NextSpecial(text, at);
            if (next > at)
            {
                Segment(text, at, next, prefix, ids, ends);
            }

            if (special < 0)
            {
                break;
            }

            ids.Add(special);
            at = next + _pieces[special].Length;
            ends?.Add(at);
            prefix = _addSpacePrefix;
        }

        return ids;
    }

    /// <summary>Ids back into text: the leading space the encoder added (at the start and after a special token) dropped.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        bool start = _addSpacePrefix;
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)Bytes.Length)
            {
                continue;
            }

            byte[] b = Bytes[id];
            bool special = _specialIds.Contains(id);
            int skip = start && !special && b.Length > 0 && b[0] == (byte)' ' ? 1 : 0;
            bytes.AddRange(b.AsSpan(skip).ToArray());
            start = special ? _addSpacePrefix : start && b.Length == 0;
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private (int At, int Id) NextSpecial(string text, int from)
    {
        int best = text.Length, id = -1;
        foreach ((string s, int sid) in _special)
        {
            int i = text.IndexOf(s, from, StringComparison.Ordinal);
            if (i >= 0 && i < best)
            {
                (best, id) = (i, sid);
            }
        }

        return (best, id);
    }

    /// <summary>One run of plain text [start, end): normalized ("▁" prefix, spaces as "▁"), merged, its symbols emitted.</summary>
    private void Segment(string text, int start, int end, bool prefix, List<int> ids, List<int>? ends)
    {
        int shift = prefix ? 1 : 0;
        var normal = new char[end - start + shift];
        if (prefix)
        {
            normal[0] = Space;
        }

        for (int i = start; i < end; i++)
        {
            normal[i - start + shift] = text[i] == ' ' ? Space : text[i];
        }

        // Offsets in the normalized text back to the original: the added prefix ends where the segment starts.
        int Original(int n) => Math.Max(start, start + n - shift);
        if (!_splitWords)
        {
            Merge(normal, 0, normal.Length, ids, ends, Original);
            return;
        }

        int word = 0;
        for (int i = 1; i <= normal.Length; i++)
        {
            if (i == normal.Length || normal[i] == Space)
            {
                Merge(normal, word, i, ids, ends, Original);
                word = i;
            }
        }
    }

    private void Merge(char[] s, int from, int to, List<int> ids, List<int>? ends, Func<int, int> original)
    {
        // Symbols: one per character (a surrogate pair is one), linked; a merged-away symbol has length 0.
        int n = 0;
        var start = new int[to - from];
        var len = new int[to - from];
        for (int i = from; i < to; i += len[n - 1])
        {
            start[n] = i;
            len[n++] = char.IsHighSurrogate(s[i]) && i + 1 < to && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
        }

        var prev = new int[n];
        var next = new int[n];
        for (int i = 0; i < n; i++)
        {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }

        // Highest score (lowest rank) first, then the leftmost; a queued pair whose symbols changed since is stale.
        var queue = new PriorityQueue<(int Left, int Right, int Size), (float Key, int Left)>();
        void TryPair(int left, int right)
        {
            if (left < 0 || right < 0)
            {
                return;
            }

            if (!_lookup.TryGetValue(s.AsSpan(start[left], len[left] + len[right]), out int joined))
            {
                return;
            }

            float key;
            if (_ranks is null)
            {
                key = -_scores[joined];
            }
            else if (_lookup.TryGetValue(s.AsSpan(start[left], len[left]), out int l)
                && _lookup.TryGetValue(s.AsSpan(start[right], len[right]), out int r) && _ranks.TryGetValue((l, r), out int rank))
            {
                key = rank;
            }
            else
            {
                return;
            }

            queue.Enqueue((left, right, len[left] + len[right]), (key, left));
        }

        for (int i = 1; i < n; i++)
        {
            TryPair(i - 1, i);
        }

        while (queue.TryDequeue(out (int Left, int Right, int Size) pair, out _))
        {
            (int left, int right, int size) = pair;
            if (len[left] == 0 || len[right] == 0 || len[left] + len[right] != size || next[left] != right)
            {
                continue;
            }

            len[left] += len[right];
            len[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0)
            {
                prev[next[right]] = left;
            }

            TryPair(prev[left], left);
            TryPair(left, next[left]);
        }

        for (int i = n > 0 ? 0 : -1; i >= 0; i = next[i])
        {
            ReadOnlySpan<char> piece = s.AsSpan(start[i], len[i]);
            int end = original(start[i] + len[i]);
            if (_lookup.TryGetValue(piece, out int id))
            {
                ids.Add(id);
                ends?.Add(end);
                continue;
            }

            // Byte fallback: the symbol's UTF-8 bytes ("▁" is a space's), else the unknown id.
            byte[] bytes = Encoding.UTF8.GetBytes(piece.ToString().Replace(Space, ' '));
            if (bytes.All(b => _byteIds[b] >= 0))
            {
                for (int k = 0; k < bytes.Length; k++)
                {
                    ids.Add(_byteIds[bytes[k]]);
                    ends?.Add(k == bytes.Length - 1 ? end : -1);
                }
            }
            else if (_unknown >= 0)
            {
                ids.Add(_unknown);
                ends?.Add(end);
            }
        }
    }
}
