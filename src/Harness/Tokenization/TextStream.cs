using System.Text;

namespace Harness.Tokenization;

/// <summary>
/// Generated model ids into text, one token at a time, as a server streams it: each token's bytes
/// go through one UTF-8 decoder, so a character split over tokens comes out whole with the token
/// that completes it (the tokens before it give no text); stop strings end the text before them,
/// and text that could still become a stop string is held back until it cannot. Bytes that are
/// not valid UTF-8 become U+FFFD. One instance per generated sequence; not thread-safe.
/// </summary>
public sealed class TextStream
{
    private readonly VocabularyMap _vocabulary;
    private readonly Decoder _utf8 = new UTF8Encoding(false, false).GetDecoder();
    private readonly string[] _stops;
    private readonly int _holdBack;
    private readonly StringBuilder _pending = new();
    private char[] _chars = new char[64];

    public TextStream(VocabularyMap vocabulary, IReadOnlyList<string>? stops = null)
    {
        _vocabulary = vocabulary;
        _stops = (stops ?? []).Where(s => s.Length > 0).ToArray();
        _holdBack = _stops.Length == 0 ? 0 : _stops.Max(s => s.Length) - 1;
    }

    /// <summary>A stop string was generated: the text ended before it, and nothing more comes.</summary>
    public bool Stopped { get; private set; }

    /// <summary>
    /// The text that <paramref name="modelId"/> adds and that can be sent now (often empty: a piece of
    /// a character, or text that may be the start of a stop string). Empty once <see cref="Stopped"/>.
    /// </summary>
    public string Add(long modelId)
    {
        if (Stopped)
        {
            return "";
        }

        ReadOnlySpan<byte> bytes = _vocabulary.Tokenizer.Bytes(_vocabulary.ToTokenizer(modelId));
        int most = _utf8.GetCharCount(bytes, flush: false);
        if (most > _chars.Length)
        {
            _chars = new char[Math.Max(most, _chars.Length * 2)];
        }

        int n = _utf8.GetChars(bytes, _chars, flush: false);
        return Release(n, final: false);
    }

    /// <summary>The end of the sequence: whatever was held back (an unfinished character is U+FFFD).</summary>
    public string Finish()
    {
        if (Stopped)
        {
            return "";
        }

        int n = _utf8.GetChars([], _chars, flush: true);
        return Release(n, final: true);
    }

    private string Release(int newChars, bool final)
    {
        if (_stops.Length == 0)
        {
            return newChars == 0 ? "" : new string(_chars, 0, newChars);
        }

        _pending.Append(_chars, 0, newChars);
        string text = _pending.ToString();
        int cut = -1;
        foreach (string stop in _stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut))
            {
                cut = at;
            }
        }

        if (cut >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return text[..cut];
        }

        int keep = final ? 0 : Math.Min(_holdBack, text.Length);
        _pending.Remove(0, text.Length - keep);
        return text[..(text.Length - keep)];
    }
}
