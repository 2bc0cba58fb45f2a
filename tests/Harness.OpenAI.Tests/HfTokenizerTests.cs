using System.Text;
using System.Text.Json;
using Harness.Datasets;
using Harness.Decoding;
using Harness.OpenAI.Tests.Server;
using Harness.Tests.Fakes;

namespace Harness.OpenAI.Tests;

/// <summary>A Hugging Face tokenizer.json of a tiny byte-level BPE, written by the test, through Microsoft.ML.Tokenizers.</summary>
public sealed class HfTokenizerTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>GPT-2's byte-to-character map: printable bytes stand for themselves, the others move past U+0100 (a space is 'Ġ').</summary>
    private static Dictionary<byte, char> ByteChars()
    {
        var keep = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToHashSet();
        var map = new Dictionary<byte, char>();
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            map[(byte)b] = keep.Contains(b) ? (char)b : (char)(256 + n++);
        }

        return map;
    }

    /// <summary>Every byte a token, and merges that make " the" one token.</summary>
    internal static string Write(string folder)
    {
        Dictionary<byte, char> chars = ByteChars();
        var vocab = new Dictionary<string, int>();
        foreach (char c in chars.Values)
        {
            vocab[c.ToString()] = vocab.Count;
        }

        foreach (string merged in new[] { "Ġt", "Ġth", "Ġthe" })
        {
            vocab[merged] = vocab.Count;
        }

        var json = new
        {
            version = "1.0",
            added_tokens = new[] { new { id = vocab.Count, content = "<|endoftext|>", special = true } },
            normalizer = (object?)null,
            pre_tokenizer = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true },
            decoder = new { type = "ByteLevel" },
            model = new { type = "BPE", vocab, merges = new[] { "Ġ t", "Ġt h", "Ġth e" } },
        };
        string path = Path.Combine(folder, "tokenizer.json");
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        return path;
    }

    [Fact]
    public void Counts_by_the_files_vocabulary_and_merges()
    {
        HfTokenizer t = HfTokenizer.Load(Write(_dir.Path));

        Assert.Equal(2, t.Count(" the the"));
        Assert.Equal(3, t.Count(" tea")); // "Ġt", "e", "a"
        Assert.Equal(2, t.Count("é")); // two bytes, no merge
        Assert.Contains("byte-level BPE", t.Name, StringComparison.Ordinal);
    }

    [Fact]
    public void Synthetic_prompts_are_exact_by_it()
    {
        HfTokenizer t = HfTokenizer.Load(Write(_dir.Path));
        PromptDataset d = PromptDataset.Parse("synthetic:in=40,out=4", 3, t);

        Assert.Equal(40, t.Count(d.Item(0).Messages[0].Content));
        Assert.Equal(40, t.Count(d.Item(1).Messages[0].Content));
    }

    [Theory]
    [InlineData("""{"model":{"type":"WordPiece","vocab":{}}}""", "is a WordPiece model")]
    [InlineData("""{"model":{"type":"BPE","vocab":{},"merges":[]},"pre_tokenizer":{"type":"Metaspace"}}""", "without a ByteLevel pre-tokenizer")]
    [InlineData("""{"nothing":1}""", "has no model")]
    [InlineData("""{"model": """, "could not be read")]
    public void Other_files_are_refused_in_one_sentence(string json, string part)
    {
        string path = Path.Combine(_dir.Path, "t.json");
        File.WriteAllText(path, json);

        var e = Assert.Throws<HarnessException>(() => HfTokenizer.Load(path));
        Assert.Contains(part, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_tokenizer_the_client_recounts_each_event_and_the_whole_text()
    {
        await using OpenAiTestServer server = await OpenAiTestServer.StartAsync();
        server.Handler = async (ctx, _) =>
        {
            await OpenAiTestServer.BeginStream(ctx);
            var sb = new StringBuilder();
            foreach (string text in new[] { " the the", " tea" })
            {
                sb.Append("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"").Append(text).Append("\"},\"finish_reason\":null}]}\n\n");
            }

            sb.Append("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n");
            await OpenAiTestServer.Write(ctx, sb.ToString());
        };
        HfTokenizer t = HfTokenizer.Load(Write(_dir.Path));
        var stream = new StreamingClientTests.TestStream();
        using var endpoint = new OpenAiEndpoint(server.BaseUrl, "test-model", new OpenAiSettings(), null, new FakeClock(), t);

        endpoint.Run(new LlmRequest { PromptTokens = 1, MaxNewTokens = 4, Messages = [LlmMessage.User("hi")] }, stream, CancellationToken.None);

        Assert.Null(stream.Error);
        Assert.Equal(EventTokenSource.Tokenizer, stream.Record.TokensFrom);
        Assert.Equal([2, 3], stream.Record.Events.ToArray().Select(e => e.Tokens));
        Assert.Equal(5, stream.Record.ClientTokens); // the tokenizer's own count, beside usage's 4
        Assert.Equal(4, stream.Record.CompletionTokens);
        Assert.False(stream.Record.KeepText); // kept for the count only, the caller's choice restored
    }
}
