using System.Diagnostics;
using System.Runtime;
using Harness.Tokenization;
using Microsoft.ML.Tokenizers;

namespace Harness.Tests.Tokenization;

/// <summary>
/// Words cut into pieces of bounded length before BPE: ordinary text tokenizes exactly as the library's
/// GPT-2 tokenizer does, and one giant word costs time linear in its length, not quadratic.
/// </summary>
public class LongWordTests
{
    private static readonly TiktokenTokenizer Reference = TiktokenTokenizer.CreateForModel("gpt2");

    public static TheoryData<string> OrdinaryTexts => new()
    {
        "The quick brown fox jumps over the lazy dog. It's 3:14 pm; we'll see, won't we? \"Yes\", she said -- twice."
            + "\n\nA new paragraph.",
        "public static int Main(string[] args)\n{\n    for (int i = 0; i < args.Length; i++) { Console.WriteLine($\"{i}: {args[i]}\"); }"
            + "\n\treturn 0;\n}\n",
        "Grüße, 世界! naïve café — Ελληνικά, русский, עברית, العربية, हिन्दी 😀👍🏽 🇫🇷 e\u0301",
        "one<|endoftext|>two <|endoftext|> three",
        "    \n\n\t\t   trailing spaces   ",
        "https://example.test/a/b?c=d&e=f#g 0123456789012345678901234567890 ABCDEFGHIJ",
        "",
    };

    [Theory]
    [MemberData(nameof(OrdinaryTexts))]
    public void Ordinary_text_tokenizes_exactly_as_the_library_does(string text)
    {
        Assert.Equal(Reference.EncodeToIds(text), TextTokenizer.Gpt2.Encode(text));
        Assert.Equal(Reference.CountTokens(text), TextTokenizer.Gpt2.Count(text));
    }

    [Fact]
    public void A_word_of_the_bound_is_still_the_librarys_and_a_longer_one_round_trips()
    {
        var random = new Random(7);
        string atBound = Letters(random, BoundedPreTokenizer.DefaultBound);
        Assert.Equal(Reference.EncodeToIds(" " + atBound + " next"), TextTokenizer.Gpt2.Encode(" " + atBound + " next"));

        // Past the bound the tokens may differ, but they still spell the text, and a character outside
        // the BMP that straddles a cut (every second one here) is not broken into U+FFFD.
        string emoji = string.Concat(Enumerable.Repeat("x\U0001F600", 300));
        foreach (string text in new[] { Letters(random, 10_000), new string('a', 5_000), emoji, "a" + emoji })
        {
            IReadOnlyList<int> ids = TextTokenizer.Gpt2.Encode(text);
            Assert.Equal(text, TextTokenizer.Gpt2.Decode(ids));
            Assert.Equal(ids.Count, TextTokenizer.Gpt2.Count(text));
        }
    }

    [Fact]
    public void Pieces_are_the_inner_words_cut_to_the_bound_never_inside_a_surrogate_pair()
    {
        PreTokenizer words = Reference.PreTokenizer!;
        var bounded = new BoundedPreTokenizer(words, 8);
        string text = "short and exactly8 then averyverylongwordindeed x!\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600";
        List<(int Offset, int Length)> inner = words.PreTokenize(text).ToList();
        List<(int Offset, int Length)> pieces = bounded.PreTokenize(text).ToList();
        Assert.Equal(pieces, bounded.PreTokenize(text.AsSpan()).ToList());

        Assert.All(pieces, p => Assert.InRange(p.Length, 1, 8));
        Assert.All(pieces, p => Assert.False(char.IsLowSurrogate(text[p.Offset])));
        // Together they cover the same characters in order, and a word within the bound is one piece.
        Assert.Equal(inner.Sum(w => w.Length), pieces.Sum(p => p.Length));
        Assert.Equal(pieces.Select(p => p.Offset).Order(), pieces.Select(p => p.Offset));
        Assert.All(inner.Where(w => w.Length <= 8), w => Assert.Contains(w, pieces));
        Assert.Contains((text.IndexOf(" then", StringComparison.Ordinal), 5), pieces);
        int word = text.IndexOf(" avery", StringComparison.Ordinal); // 24 characters: three pieces of 8
        Assert.Equal([(word, 8), (word + 8, 8), (word + 16, 8)], pieces.Where(p => p.Offset >= word && p.Offset < word + 24));
        int marks = text.IndexOf('!', StringComparison.Ordinal); // "!" and five pairs: the 8th char would split the 4th pair
        Assert.Equal([(marks, 7), (marks + 7, 4)], pieces.Where(p => p.Offset >= marks));
    }

    [Fact]
    public void A_giant_word_is_the_librarys_tokens_of_its_pieces()
    {
        // What bounds the work: BPE never sees more than the bound at once.
        string word = Letters(new Random(3), (BoundedPreTokenizer.DefaultBound * 4) + 100);
        IEnumerable<int> pieces = word.Chunk(BoundedPreTokenizer.DefaultBound).SelectMany(p => Reference.EncodeToIds(new string(p)));
        Assert.Equal(pieces, TextTokenizer.Gpt2.Encode(word));
        Assert.NotEqual(Reference.EncodeToIds(word), TextTokenizer.Gpt2.Encode(word));
    }

    /// <summary>What one timed side may allocate without a collection (both sides allocate a few MB).</summary>
    private const long NoGcBytes = 64L << 20;

    [Fact]
    public void One_giant_word_costs_what_ten_words_a_tenth_its_length_do()
    {
        // Random letters (one \p{L}+ word each, fresh every round). The library alone takes time growing
        // with the square of a word's length: one 200 kB word would cost 10 times ten 20 kB ones. Same work
        // both sides, interleaved, the fastest of several rounds each, so a loaded machine moves both alike.
        var random = new Random(11);
        TextTokenizer gpt2 = TextTokenizer.Gpt2;
        double tens = double.MaxValue;
        double ones = double.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            string[] small = Enumerable.Range(0, 10).Select(_ => Letters(random, 20_000)).ToArray();
            string large = Letters(random, 200_000);
            tens = Math.Min(tens, Time(() => Array.ForEach(small, s => gpt2.Encode(s))));
            ones = Math.Min(ones, Time(() => gpt2.Encode(large)));
        }

        double ratio = ones / tens;
        Assert.True(ratio < 3, $"One 200 kB word took {ratio:F1} times as long as ten 20 kB ones ({ones:F3} s vs {tens:F3} s).");
    }

    private static string Letters(Random random, int length)
    {
        var chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            chars[i] = (char)('a' + random.Next(26));
        }

        return new string(chars);
    }

    /// <summary>
    /// The work's wall time with the garbage collector held off where it can be: only the giant word's side allocates on
    /// the large object heap (its ids), and in a test process whose heap the parallel tests have filled, the full
    /// collections that triggers cost more than the tokenizing (a CI run measured 4x where the work alone is 1x).
    /// </summary>
    private static double Time(Action work)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        bool held = GC.TryStartNoGCRegion(NoGcBytes);
        try
        {
            var watch = Stopwatch.StartNew();
            work();
            return watch.Elapsed.TotalSeconds;
        }
        finally
        {
            // Another test's allocations may have ended the region early: a collection then ran, and there is nothing to end.
            if (held && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
            }
        }
    }
}
