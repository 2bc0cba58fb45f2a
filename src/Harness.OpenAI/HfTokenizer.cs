using System.Text.Json;
using System.Text.RegularExpressions;
using Harness.Datasets;
using Harness.Models.Formats;
using Harness.Tokenization;
using Microsoft.ML.Tokenizers;

namespace Harness.OpenAI;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> of a byte-level BPE model (GPT-2, Llama 3, Qwen, Mistral NeMo
/// and most recent models) loaded into Microsoft.ML.Tokenizers: its vocabulary, merges, added tokens
/// and the split pattern of its pre-tokenizer (GPT-2's when it names none). A word longer than
/// <see cref="BoundedPreTokenizer.DefaultBound"/> characters is tokenized in pieces of that length, so
/// tokenizing stays linear in the text (its tokens may differ from the reference's; shorter words'
/// do not). Other model types (WordPiece, Unigram, SentencePiece's Metaspace BPE) are refused with
/// one sentence.
/// </summary>
public sealed class HfTokenizer : ITokenCounter
{
    /// <summary>GPT-2's pre-tokenizer split (the ByteLevel pre-tokenizer's use_regex).</summary>
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly Tokenizer _tokenizer;

    private HfTokenizer(string name, Tokenizer tokenizer)
    {
        Name = name;
        _tokenizer = tokenizer;
    }

    public string Name { get; }

    public int Count(string text) => text.Length == 0 ? 0 : _tokenizer.CountTokens(text, considerPreTokenization: true, considerNormalization: true);

    public IReadOnlyList<int> Encode(string text) => _tokenizer.EncodeToIds(text);

    public int PrefixLength(string text, int tokens) =>
        _tokenizer.GetIndexByTokenCount(text, tokens, out string? normalized, out int count) is var index && normalized is null && count == tokens ? index : -1;

    /// <summary>
    /// <c>--tokenizer PATH</c>: a byte-level tokenizer.json through <see cref="Load"/>; a model folder, a GGUF file, or a
    /// tokenizer.json that Load refuses (SentencePiece style) through the model's reader (<see cref="ModelTokenizer.Read"/>).
    /// </summary>
    public static ITokenCounter Counter(string path)
    {
        HarnessException? refused = null;
        if (!Directory.Exists(path) && !path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                return Load(path);
            }
            catch (HarnessException e)
            {
                refused = e;
            }
        }

        (TextTokenizer? t, string note) = ModelTokenizer.Read(path);
        return t is not null
            ? new TokenizerCounter(t, $"{Path.GetFileName(path.TrimEnd('/'))} ({t.Kind}, {t.VocabularySize} tokens)")
            : throw (refused ?? HarnessException.BadInput($"Tokenizer '{path}' could not be used: {note}."));
    }

    public static HfTokenizer Load(string path)
    {
        if (!File.Exists(path))
        {
            throw HarnessException.BadInput($"Tokenizer file '{path}' does not exist.");
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement root = doc.RootElement;
            if (!root.TryGetProperty("model", out JsonElement model) || model.ValueKind != JsonValueKind.Object)
            {
                throw HarnessException.BadInput($"Tokenizer file '{path}' has no model: give a Hugging Face tokenizer.json.");
            }

            string type = model.TryGetProperty("type", out JsonElement t) ? t.GetString() ?? "" : "";
            if (type != "BPE")
            {
                throw HarnessException.BadInput($"Tokenizer file '{path}' is a {(type.Length == 0 ? "model of no stated type" : type + " model")}; only byte-level BPE tokenizers are read.");
            }

            bool byteLevel = Mentions(root, "pre_tokenizer", "ByteLevel") || Mentions(root, "decoder", "ByteLevel");
            if (!byteLevel)
            {
                throw HarnessException.BadInput($"Tokenizer file '{path}' is a BPE model without a ByteLevel pre-tokenizer (SentencePiece style); only byte-level BPE tokenizers are read.");
            }

            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (JsonProperty p in model.GetProperty("vocab").EnumerateObject())
            {
                vocab[p.Name] = p.Value.GetInt32();
            }

            var merges = new List<string>();
            if (model.TryGetProperty("merges", out JsonElement m) && m.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement merge in m.EnumerateArray())
                {
                    merges.Add(merge.ValueKind == JsonValueKind.Array
                        ? $"{merge[0].GetString()} {merge[1].GetString()}"
                        : merge.GetString() ?? "");
                }
            }

            var special = new Dictionary<string, int>(StringComparer.Ordinal);
            if (root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement a in added.EnumerateArray())
                {
                    if (a.TryGetProperty("content", out JsonElement c) && a.TryGetProperty("id", out JsonElement id) && c.GetString() is { Length: > 0 } content)
                    {
                        special[content] = id.GetInt32();
                    }
                }
            }

            string pattern = SplitPattern(root) ?? Gpt2Pattern;
            var options = new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = true,
                // Words cut into pieces of bounded length: BPE time grows with the square of a word's length.
                PreTokenizer = new BoundedPreTokenizer(
                    new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), special.Count > 0 ? special : null)),
                SpecialTokens = special.Count > 0 ? special : null,
            };
            return new HfTokenizer($"{Path.GetFileName(path)} (byte-level BPE, {vocab.Count} tokens)", BpeTokenizer.Create(options));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw HarnessException.BadInput($"Tokenizer file '{path}' could not be read: {e.Message}");
        }
    }

    /// <summary>Whether a section (or a step of its Sequence) has the given type.</summary>
    private static bool Mentions(JsonElement root, string section, string type)
    {
        if (!root.TryGetProperty(section, out JsonElement s) || s.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (s.TryGetProperty("type", out JsonElement t) && t.GetString() == type)
        {
            return true;
        }

        foreach (string list in (ReadOnlySpan<string>)["pretokenizers", "decoders"])
        {
            if (s.TryGetProperty(list, out JsonElement steps) && steps.ValueKind == JsonValueKind.Array
                && steps.EnumerateArray().Any(x => x.TryGetProperty("type", out JsonElement st) && st.GetString() == type))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The regex of a Split pre-tokenizer (Llama 3, Qwen), if the file has one.</summary>
    private static string? SplitPattern(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out JsonElement pre) || pre.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        IEnumerable<JsonElement> steps = pre.TryGetProperty("pretokenizers", out JsonElement list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray()
            : [pre];
        foreach (JsonElement step in steps)
        {
            if (step.TryGetProperty("type", out JsonElement t) && t.GetString() == "Split"
                && step.TryGetProperty("pattern", out JsonElement p) && p.TryGetProperty("Regex", out JsonElement regex))
            {
                return regex.GetString();
            }
        }

        return null;
    }
}
