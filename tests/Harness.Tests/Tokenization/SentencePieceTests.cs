using Harness.Datasets;
using Harness.Tokenization;

namespace Harness.Tests.Tokenization;

/// <summary>
/// The SentencePiece-style BPE: known answers on a hand-made vocabulary (the merge order worked out by
/// hand), byte fallback, special tokens, the deterministic vocabulary export writes, and a dataset of
/// N tokens under it; the split regexes of Llama 3 and Qwen2.
/// </summary>
public class SentencePieceTests
{
    // Ids 0-2 specials, 3-258 the bytes, then these pieces (score in brackets; the joined piece's score orders the merges):
    // 259 "▁", 260 "h", 261 "e", 262 "l", 263 "o", 264 "▁h" (-2), 265 "ll" (-3), 266 "llo" (-4), 267 "he" (-5),
    // 268 "hell" (-6), 269 "hello" (-7), 270 "▁hello" (-8).
    private static readonly string[] Extra = ["▁", "h", "e", "l", "o", "▁h", "ll", "llo", "he", "hell", "hello", "▁hello"];
    private static readonly float[] ExtraScores = [0, 0, 0, 0, 0, -2, -3, -4, -5, -6, -7, -8];

    private static (string[] Pieces, float[] Scores) HandMade()
    {
        var pieces = new List<string> { "<unk>", "<s>", "</s>" };
        pieces.AddRange(Enumerable.Range(0, 256).Select(SentencePieceBpe.ByteToken));
        pieces.AddRange(Extra);
        float[] scores = new float[259].Concat(ExtraScores).ToArray();
        return (pieces.ToArray(), scores);
    }

    private static SentencePieceBpe ByScore()
    {
        (string[] pieces, float[] scores) = HandMade();
        return new SentencePieceBpe(pieces, scores, null, [0, 1, 2], 0);
    }

    [Fact]
    public void The_highest_scoring_pair_merges_first_not_the_longest_piece()
    {
        // "▁hello": pairs ▁h (-2), he (-5), ll (-3). ▁h merges first (h is gone, so "he" is stale), then ll, then
        // ll+o = llo (-4); ▁h+e and e+llo are no pieces: ▁h e llo, though "▁hello" is a piece.
        Assert.Equal([264, 261, 266], ByScore().Encode("hello"));
    }

    [Fact]
    public void Equal_scores_merge_the_leftmost_pair_first()
    {
        // "▁lll": l+l at 1 and at 2 score the same; the leftmost merges, leaving the last l alone.
        Assert.Equal([259, 265, 262], ByScore().Encode("lll"));
    }

    [Fact]
    public void A_character_without_a_piece_falls_back_to_its_bytes_and_decodes_back()
    {
        SentencePieceBpe spm = ByScore();
        // é is C3 A9: ids 3 + 0xC3 and 3 + 0xA9; a space between words is a "▁" of its own.
        List<int> ids = spm.Encode("hé oh");
        Assert.Equal([264, 3 + 0xC3, 3 + 0xA9, 259, 263, 260], ids);
        Assert.Equal("hé oh", spm.Decode(ids));
    }

    [Fact]
    public void Special_tokens_in_the_text_are_that_token_and_the_text_after_them_gets_its_leading_space()
    {
        SentencePieceBpe spm = ByScore();
        List<int> ids = spm.Encode("<s>hello</s>");
        Assert.Equal([1, 264, 261, 266, 2], ids);
        Assert.Equal("<s>hello</s>", spm.Decode(ids));
    }

    [Fact]
    public void Merging_by_rank_follows_the_merge_list()
    {
        (string[] pieces, _) = HandMade();
        // The same pieces, the pairs ranked otherwise: h+e (0), l+l (1), then he+ll (2) before ll+o (4), hell+o (3),
        // and ▁+hello (6) at last: the whole "▁hello", where merging by score gave ▁h e llo.
        string[] merges = ["h e", "l l", "he ll", "hell o", "ll o", "▁ h", "▁ hello"];
        var spm = new SentencePieceBpe(pieces, null, merges, [0, 1, 2], 0);
        Assert.Equal(SentencePieceMerges.ByRank, spm.Merges);
        Assert.Equal([270], spm.Encode("hello"));
        // With l+o ranked before he+ll, llo is taken first and he+llo is no merge: ▁ he llo.
        var other = new SentencePieceBpe(pieces, null, ["h e", "l l", "ll o", "he ll", "hell o", "▁ h", "▁ hello"], [0, 1, 2], 0);
        Assert.Equal([259, 267, 266], other.Encode("hello"));
    }

    [Theory]
    [InlineData(259)]
    [InlineData(1000)]
    [InlineData(32000)]
    public void The_exported_vocabulary_has_its_size_bytes_and_specials_and_text_round_trips(int size)
    {
        SentencePieceVocabulary v = SentencePieceVocabulary.ForSize(size);
        Assert.Equal(size, v.Tokens.Count);
        Assert.Equal(size, v.Tokens.Distinct().Count());
        Assert.Equal(["<unk>", "<s>", "</s>", "<0x00>"], v.Tokens.Take(4));
        Assert.Equal("<0xFF>", v.Tokens[258]);
        TextTokenizer t = TextTokenizer.FromSentencePiece(v.Encoder(), SentencePieceVocabulary.EndOfText,
            SentencePieceVocabulary.BeginOfText, addBeginOfText: true);
        const string text = "Hello world, the harness's SentencePiece: naïve café — 1234 tokens!\n\t<|im_start|>user  two  spaces ";
        IReadOnlyList<int> ids = t.Encode(text);
        Assert.All(ids, id => Assert.InRange(id, 0, size - 1));
        Assert.Equal(text, t.Decode(ids));
        Assert.Equal([SentencePieceVocabulary.BeginOfText, .. ids], t.EncodePrompt(text));
        if (size > 259)
        {
            Assert.True(ids.Count < text.Length, "pieces shorten the text");
        }
    }

    [Fact]
    public void The_vocabulary_is_deterministic_and_too_small_a_size_is_bad_input()
    {
        Assert.Equal(SentencePieceVocabulary.ForSize(600).Tokens, SentencePieceVocabulary.ForSize(600).Tokens);
        HarnessException e = Assert.Throws<HarnessException>(() => SentencePieceVocabulary.ForSize(256));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("259", e.Message);
    }

    [Theory]
    [InlineData(300)]
    [InlineData(4000)]
    public void A_dataset_of_n_tokens_is_n_tokens_under_a_sentencepiece_tokenizer(int size)
    {
        SentencePieceVocabulary v = SentencePieceVocabulary.ForSize(size);
        var counter = new TokenizerCounter(TextTokenizer.FromSentencePiece(v.Encoder(), 2, 1, true), "spm");
        PromptDataset d = PromptDataset.Parse("synthetic:in=40,out=8,in_std=15", 7, counter);
        Assert.True(d.Exact);
        for (int i = 0; i < 20; i++)
        {
            PromptItem item = d.Item(i);
            Assert.Equal(item.InputTokens, counter.Count(item.Messages[0].Content));
        }
    }

    [Fact]
    public void Llama3s_split_keeps_numbers_in_groups_of_three_and_qwen2s_splits_every_digit()
    {
        ByteLevelVocabulary v = ByteLevelVocabulary.ForSize(50257);
        TextTokenizer llama3 = TextTokenizer.FromByteLevel(v.Tokens, v.RegularTokens, 50256, SplitPatterns.Llama3, "llama-bpe")!;
        TextTokenizer qwen2 = TextTokenizer.FromByteLevel(v.Tokens, v.RegularTokens, 50256, SplitPatterns.Qwen2, "qwen2")!;
        const string text = "Year 1234567 it's";
        string[] Pieces(TextTokenizer t) => t.Encode(text).Select(id => t.Decode([id])).ToArray();
        // GPT-2 keeps " 1234567" one word; Llama 3 cuts its digits every three, Qwen2 at each digit: no token crosses a cut.
        string[] l3 = Pieces(llama3).Where(p => p.Any(char.IsDigit)).ToArray();
        Assert.Equal("1234567", string.Concat(l3));
        int[] ends = l3.Select((_, i) => l3.Take(i + 1).Sum(p => p.Length)).ToArray();
        Assert.Contains(3, ends);
        Assert.Contains(6, ends);
        Assert.All(Pieces(qwen2).Where(p => p.Any(char.IsDigit)), p => Assert.Single(p));
        Assert.NotEqual(TextTokenizer.Gpt2.Encode(text), llama3.Encode(text));
        Assert.Equal(text, llama3.Decode(llama3.Encode(text)));
        Assert.Contains("llama-bpe", llama3.Kind);
    }
}
