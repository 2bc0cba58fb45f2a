using System.Text.Json.Nodes;
using Harness.Backends;
using Harness.Models;
using Harness.Models.Formats;
using Harness.Tokenization;

namespace Harness.Tests.Models.Formats;

/// <summary>
/// Qwen2's tokenizer.json: a byte-level BPE split by Qwen2's regex after an NFC normalizer. Text is put in normalization
/// form C first, so a decomposed "é" (e + U+0301) gives the composed one's ids, and the same file without the
/// normalizer gives other ids for it.
/// </summary>
public sealed class ModelTokenizerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-tokenizer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_qwen2_tokenizer_json_puts_text_in_nfc_before_it_tokenizes()
    {
        const string composed = "Caf\u00e9 na\u00efve \u00c5ngstr\u00f6m, 1234.";
        const string decomposed = "Cafe\u0301 nai\u0308ve A\u030angstro\u0308m, 1234.";
        Assert.NotEqual(composed, decomposed);
        string folder = Path.Combine(_dir, "qwen2");
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test") with { Vocab = 2000 };
        using (var gen = new WeightGenerator(1, c.Layers))
        {
            ModelExport.Write(c, TensorDType.Float32, ExportFormat.Hf, folder, gen);
        }

        string file = Path.Combine(folder, ModelFiles.TokenizerFile);
        JsonNode tok = JsonNode.Parse(File.ReadAllText(file))!;
        tok["normalizer"] = new JsonObject { ["type"] = "NFC" };
        tok["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject
                {
                    ["type"] = "Split",
                    ["pattern"] = new JsonObject { ["Regex"] = SplitPatterns.Qwen2 },
                    ["behavior"] = "Isolated",
                    ["invert"] = false,
                },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false }),
        };
        File.WriteAllText(file, tok.ToJsonString());
        (TextTokenizer? t, string note) = ModelTokenizer.Read(folder);
        Assert.True(t is not null, note);
        Assert.True(t.NormalizesToNfc);
        Assert.Contains("NFC", t.Kind, StringComparison.Ordinal);
        Assert.Contains("NFC", note, StringComparison.Ordinal);
        Assert.Equal(t.Encode(composed), t.Encode(decomposed));
        Assert.Equal(t.Encode(composed).Count, t.Count(decomposed));
        Assert.Equal(composed, t.Decode(t.Encode(decomposed)));
        Assert.Equal(composed.Length, t.PrefixLength(composed, t.Encode(composed).Count));
        Assert.Equal(-1, t.PrefixLength(decomposed, 1));

        tok["normalizer"] = null;
        File.WriteAllText(file, tok.ToJsonString());
        (TextTokenizer? plain, _) = ModelTokenizer.Read(folder);
        Assert.False(plain!.NormalizesToNfc);
        Assert.NotEqual(plain.Encode(composed), plain.Encode(decomposed));
        Assert.Equal(decomposed, plain.Decode(plain.Encode(decomposed)));
    }
}
