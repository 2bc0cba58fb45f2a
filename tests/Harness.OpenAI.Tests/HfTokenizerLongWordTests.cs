using System.Diagnostics;
using System.Text.Json.Nodes;
using Harness.Tests.Fakes;
using Harness.Tokenization;

namespace Harness.OpenAI.Tests;

/// <summary>
/// A tokenizer.json's BPE with words cut into pieces of bounded length: one giant word costs time linear
/// in its length, and only words past the bound tokenize differently from the file's reference tokenizer.
/// </summary>
public sealed class HfTokenizerLongWordTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The test tokenizer of <see cref="HfTokenizerTests"/> with "a b" → "ab" and "a a" → "aa" merges besides.</summary>
    private HfTokenizer Load()
    {
        string path = HfTokenizerTests.Write(_dir.Path);
        JsonNode json = JsonNode.Parse(File.ReadAllText(path))!;
        JsonObject vocab = json["model"]!["vocab"]!.AsObject();
        JsonArray merges = json["model"]!["merges"]!.AsArray();
        foreach (string merged in new[] { "ab", "aa" })
        {
            vocab[merged] = vocab.Count + 1;
            merges.Add($"{merged[0]} {merged[1]}");
        }

        File.WriteAllText(path, json.ToJsonString());
        return HfTokenizer.Load(path);
    }

    [Fact]
    public void Words_up_to_the_bound_merge_whole_and_a_longer_one_in_pieces()
    {
        HfTokenizer t = Load();
        int bound = BoundedPreTokenizer.DefaultBound;
        Assert.Equal(5, t.Count(" the ab aa")); // "Ġthe", "Ġ", "ab", "Ġ", "aa"
        // "b" and 255 'a's (the bound, even): "b", 127 "aa", "a".
        Assert.Equal(1 + ((bound - 2) / 2) + 1, t.Count("b" + new string('a', bound - 1)));
        // One 'a' more: whole it would be "b" and 128 "aa"; cut at the bound, the last 'a' stands alone.
        string word = "b" + new string('a', bound);
        Assert.Equal(1 + ((bound - 2) / 2) + 1 + 1, t.Count(word));
        Assert.Equal(t.Count(word), t.Encode(word).Count);
    }

    [Fact]
    public void One_giant_word_costs_what_ten_words_a_tenth_its_length_do()
    {
        // Random 'a's and 'b's: the library's merges alone take time growing with the square of a word's length
        // (one 200 kB word would cost about 10 times ten 20 kB ones). Same work both sides, interleaved, the
        // fastest of several rounds each, so a loaded machine moves both alike.
        HfTokenizer t = Load();
        var random = new Random(5);
        double tens = double.MaxValue;
        double ones = double.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            string[] small = Enumerable.Range(0, 10).Select(_ => Word(random, 20_000)).ToArray();
            string large = Word(random, 200_000);
            tens = Math.Min(tens, Time(() => Array.ForEach(small, s => t.Count(s))));
            ones = Math.Min(ones, Time(() => t.Count(large)));
        }

        double ratio = ones / tens;
        Assert.True(ratio < 3, $"One 200 kB word took {ratio:F1} times as long as ten 20 kB ones ({ones:F3} s vs {tens:F3} s).");
    }

    private static string Word(Random random, int length)
    {
        var chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            chars[i] = random.Next(2) == 0 ? 'a' : 'b';
        }

        return new string(chars);
    }

    private static double Time(Action work)
    {
        var watch = Stopwatch.StartNew();
        work();
        return watch.Elapsed.TotalSeconds;
    }
}
