using Harness.Tokenization;

namespace Harness.Serving.Tests;

/// <summary>Tokens into text up to a stop string, and the end token's rule (min_tokens, ignore_eos): no server, no model.</summary>
public class StopMatcherTests
{
    private static readonly VocabularyMap Gpt2 = new(TextTokenizer.Gpt2, 50_257);

    [Fact]
    public void A_stop_string_split_across_two_tokens_ends_the_text_before_it()
    {
        // GPT-2: "Hello" 15496, " world" 995; "o w" starts in the first and ends in the second.
        Assert.Equal([15496L, 995L], Gpt2.Encode("Hello world"));
        var stop = new StopMatcher(Gpt2, ["o w"], minTokens: 0, ignoreEos: false);

        string first = stop.Add(15496, produced: 1);
        Assert.Equal("Hel", first); // "lo" is held back: it may become "o w"
        Assert.False(stop.Stopped);

        string second = stop.Add(995, produced: 2);
        Assert.True(stop.Stopped);
        Assert.Equal("Hell", first + second + stop.Finish());
        Assert.Equal("", stop.Add(Gpt2.Encode(" again")[0], produced: 3));
    }

    [Fact]
    public void Held_back_text_that_never_became_a_stop_string_comes_out_at_the_finish()
    {
        var stop = new StopMatcher(Gpt2, ["STOP", "o w"], minTokens: 0, ignoreEos: false);
        long[] ids = Gpt2.Encode("Hello ST");
        string sent = string.Concat(ids.Select((id, i) => stop.Add(id, i + 1)));

        Assert.False(stop.Stopped);
        Assert.NotEqual("Hello ST", sent);
        Assert.Equal("Hello ST", sent + stop.Finish());
    }

    [Fact]
    public void A_character_split_over_tokens_comes_out_whole_before_a_stop_string()
    {
        long[] ids = Gpt2.Encode("a世b!");
        var stop = new StopMatcher(Gpt2, ["b!"], minTokens: 0, ignoreEos: false);
        var pieces = new List<string>();
        for (int i = 0; i < ids.Length && !stop.Stopped; i++)
        {
            pieces.Add(stop.Add(ids[i], i + 1));
        }

        Assert.True(stop.Stopped);
        Assert.Equal("a世", string.Concat(pieces) + stop.Finish());
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD', StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0, false, 1, "")]                  // the end token ends the request and is no text
    [InlineData(3, false, 3, "")]                  // at min_tokens: the end
    [InlineData(3, false, 2, "<|endoftext|>")]     // before min_tokens: text like any token
    [InlineData(0, true, 1, "<|endoftext|>")]      // ignore_eos: text like any token
    public void The_end_token_is_no_text_past_min_tokens_unless_ignore_eos(int minTokens, bool ignoreEos, int produced, string text)
    {
        var stop = new StopMatcher(Gpt2, [], minTokens, ignoreEos);

        Assert.Equal(text, stop.Add(Gpt2.EndOfText, produced) + stop.Finish());
        Assert.False(stop.Stopped);
    }
}
