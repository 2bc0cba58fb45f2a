using Harness.Models.Formats;
using Harness.Tests.Fakes;
using Harness.Tokenization;

namespace Harness.OpenAI.Tests;

/// <summary>The tokenizer.json that harness export writes, read back through the same loader as --tokenizer.</summary>
public sealed class ExportedTokenizerTests : IDisposable
{
    private const string Text = "Hello world, this is the harness's exported tokenizer: naïve café — 1234 tokens!\n<|im_start|>user";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void At_gpt2_size_it_is_gpt2s_tokenizer()
    {
        HfTokenizer t = Load(ByteLevelVocabulary.ForSize(50257));
        Assert.Equal(TextTokenizer.Gpt2.Encode(Text), t.Encode(Text));
    }

    [Theory]
    [InlineData(256)]
    [InlineData(1000)]
    [InlineData(32000)]
    public void Text_round_trips_and_every_id_is_inside_the_vocabulary(int size)
    {
        ByteLevelVocabulary vocab = ByteLevelVocabulary.ForSize(size);
        Assert.Equal(size, vocab.Tokens.Count);
        IReadOnlyList<int> ids = Load(vocab).Encode(Text);
        Assert.All(ids, id => Assert.InRange(id, 0, size - 1));
        Assert.Equal(Text, vocab.Decode(ids));
        if (size > 256)
        {
            Assert.True(ids.Count < System.Text.Encoding.UTF8.GetByteCount(Text), "merges shorten the text");
        }
    }

    [Fact]
    public void A_sentencepiece_tokenizer_json_counts_through_the_models_reader()
    {
        var vocab = SentencePieceVocabulary.ForSize(1000);
        string path = Path.Combine(_dir.Path, "tokenizer.json");
        File.WriteAllText(path, ModelExport.TokenizerJson(vocab).ToJsonString());
        Harness.Datasets.ITokenCounter counter = HfTokenizer.Counter(path);
        Assert.Contains("SentencePiece", counter.Name);
        TextTokenizer reference = TextTokenizer.FromSentencePiece(vocab.Encoder(), 2, 1, true);
        Assert.Equal(reference.Count(Text), counter.Count(Text));
        Assert.Equal(HarnessException.BadInput("x").ExitCode, Assert.Throws<HarnessException>(() => HfTokenizer.Counter(
            Path.Combine(_dir.Path, "none.json"))).ExitCode);
    }

    private HfTokenizer Load(ByteLevelVocabulary vocab)
    {
        string path = Path.Combine(_dir.Path, $"tokenizer-{vocab.Tokens.Count}.json");
        File.WriteAllText(path, ModelExport.TokenizerJson(vocab).ToJsonString());
        return HfTokenizer.Load(path);
    }
}
