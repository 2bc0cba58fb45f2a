using Harness.Tokenization;

namespace Harness.Serving;

/// <summary>
/// What each generated token adds to a request's text, and whether the text has ended. Ids become
/// text through one <see cref="TextStream"/> (a character split over tokens comes out whole with the
/// token that completes it; text that could still become a stop string is held back until it
/// cannot), and the batcher's rule decides the end token: past min_tokens, and unless ignore_eos,
/// the end token ends the request and is no text. One instance per request; not thread-safe.
/// </summary>
internal sealed class StopMatcher
{
    private readonly TextStream _text;
    private readonly long _endToken;
    private readonly int _minTokens;
    private readonly bool _ignoreEos;

    public StopMatcher(VocabularyMap vocabulary, IReadOnlyList<string> stops, int minTokens, bool ignoreEos)
    {
        _text = new TextStream(vocabulary, stops);
        _endToken = vocabulary.EndOfText;
        _minTokens = minTokens;
        _ignoreEos = ignoreEos;
    }

    /// <summary>The request's stop strings, min_tokens and ignore_eos.</summary>
    public static StopMatcher For(GenerationRequest request, VocabularyMap vocabulary) =>
        new(vocabulary, request.Stop, request.MinTokens, request.IgnoreEos);

    /// <summary>A stop string was generated: the text ended before it, and the request ends with finish_reason "stop".</summary>
    public bool Stopped => _text.Stopped;

    /// <summary>
    /// The text <paramref name="token"/> adds that can be sent now: often empty (a piece of a
    /// character, text that may start a stop string, the end token, anything once
    /// <see cref="Stopped"/>).
    /// </summary>
    /// <param name="produced">Tokens generated so far, this one included.</param>
    public string Add(long token, int produced)
    {
        bool end = !_ignoreEos && produced >= _minTokens && token == _endToken;
        return end ? "" : _text.Add(token);
    }

    /// <summary>The end of the request: whatever was held back (an unfinished character is U+FFFD); empty once stopped.</summary>
    public string Finish() => _text.Finish();
}
