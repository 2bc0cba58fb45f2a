using Harness.Tokenization;

namespace Harness.Tests.Tokenization;

/// <summary>GPT-2's BPE, its map into a model's vocabulary, the token-by-token text stream and the chat template.</summary>
public class TokenizationTests
{
    private static readonly TextTokenizer Gpt2 = TextTokenizer.Gpt2;

    [Fact]
    public void Gpt2_text_round_trips_through_its_ids()
    {
        Assert.Equal(50_257, Gpt2.VocabularySize);
        Assert.Equal(50_256, Gpt2.EndOfText);
        // Known GPT-2 ids: "Hello" 15496, " world" 995.
        Assert.Equal([15496, 995], Gpt2.Encode("Hello world"));
        const string text = "Grüße, 世界! naïve café\n\tdone";
        Assert.Equal(text, Gpt2.Decode(Gpt2.Encode(text)));
        Assert.Equal(Gpt2.Encode(text).Count, Gpt2.Count(text));
    }

    [Theory]
    [InlineData(50_257, 50_256, 50_256, 50_256)]     // gpt2-124m: the identity
    [InlineData(128_256, 50_256, 60_000, 9_743)]     // larger vocabulary: model ids above the tokenizer's wrap
    [InlineData(512, 80, 600, 600)]                 // smaller vocabulary: tokenizer ids fold onto it
    public void Ids_map_into_any_vocabulary_deterministically(int vocab, long endOfText, long modelId, int tokenizerId)
    {
        var map = new VocabularyMap(Gpt2, vocab);
        Assert.Equal(endOfText, map.EndOfText);
        Assert.Equal(tokenizerId, map.ToTokenizer(modelId));
        Assert.All(map.Encode("any text at all, 42"), id => Assert.InRange(id, 0, vocab - 1));
    }

    [Fact]
    public void A_character_split_over_tokens_comes_out_with_the_token_that_completes_it()
    {
        var map = new VocabularyMap(Gpt2, 50_257);
        // "世" is three bytes; GPT-2 spells it with more than one token.
        long[] ids = map.Encode("a世b");
        var stream = new TextStream(map);
        string[] pieces = ids.Select(stream.Add).ToArray();
        Assert.Equal("a世b", string.Concat(pieces) + stream.Finish());
        Assert.Contains(pieces, p => p.Length == 0);
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
    }

    [Fact]
    public void A_stop_string_ends_the_text_before_it_even_across_tokens()
    {
        var map = new VocabularyMap(Gpt2, 50_257);
        var stream = new TextStream(map, ["END"]);
        var sent = new List<string>();
        foreach (long id in map.Encode("one two EN"))
        {
            sent.Add(stream.Add(id));
        }

        Assert.False(stream.Stopped);
        Assert.Equal("one two ", string.Concat(sent)); // "EN" is held back: it may become "END"
        foreach (long id in map.Encode("D three"))
        {
            sent.Add(stream.Add(id));
        }

        Assert.True(stream.Stopped);
        Assert.Equal("one two ", string.Concat(sent) + stream.Finish());
    }

    [Fact]
    public void Held_back_text_that_never_became_a_stop_string_comes_out_at_the_end()
    {
        var map = new VocabularyMap(Gpt2, 50_257);
        var stream = new TextStream(map, ["STOP"]);
        string text = string.Concat(map.Encode("no ST").Select(stream.Add));
        Assert.Equal("no ST", text + stream.Finish());
        Assert.False(stream.Stopped);
    }

    [Fact]
    public void The_chat_template_is_chatml_in_plain_text()
    {
        string prompt = ChatTemplate.Render([new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi")]);
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", prompt);
    }
}
