using System.Text.Json;
using Harness.Backends;
using Harness.Tokenization;

namespace Harness.Models.Formats;

/// <summary>
/// The tokenizer a model on disk brings, where the harness can run it: a byte-level BPE with GPT-2's
/// pre-tokenizer, from a Hugging Face folder's tokenizer.json or a GGUF file's gpt2 vocabulary (what
/// <c>harness export</c> writes). Anything else (SentencePiece, another split pattern) gives null and
/// a reason, and text goes through GPT-2's BPE mapped into the model's vocabulary as for seeded models.
/// </summary>
public static class ModelTokenizer
{
    /// <summary>The model's tokenizer, or null (with why) for a seeded model or a tokenizer the harness does not run.</summary>
    public static (TextTokenizer? Tokenizer, string Note) For(DecoderConfig c)
    {
        if (c.WeightsPath is not { } path)
        {
            return (null, "seeded model: GPT-2's BPE, mapped into the model's vocabulary");
        }

        try
        {
            (TextTokenizer? t, string note) = File.Exists(path) ? FromGguf(path) : FromFolder(path);
            return t is not null && t.VocabularySize > c.Vocab
                ? (null, $"{note} has {t.VocabularySize} ids, more than the embedding's {c.Vocab}")
                : (t, note);
        }
        catch (Exception e)
            when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            return (null, $"the model's tokenizer could not be read ({e.Message})");
        }
    }

    private static (TextTokenizer?, string) FromGguf(string path)
    {
        using GgufFile g = Gguf.Open(path);
        string model = g.Text("tokenizer.ggml.model") ?? "none";
        string pre = g.Text("tokenizer.ggml.pre") ?? "default";
        if (model != "gpt2" || pre is not ("gpt-2" or "default") || g.Array("tokenizer.ggml.tokens") is not { } tokens)
        {
            return (null, $"GGUF vocabulary '{model}' (pre-tokenizer '{pre}') is not GPT-2-style byte-level BPE");
        }

        object[] types = g.Array("tokenizer.ggml.token_type") ?? [];
        int regular = 0;
        while (regular < tokens.Length && (regular >= types.Length || types[regular] is long and 1))
        {
            regular++;
        }

        int eos = g.Integer("tokenizer.ggml.eos_token_id") is { } e ? (int)e : -1;
        TextTokenizer? t = TextTokenizer.FromByteLevel(tokens.Select(x => (string)x).ToArray(), regular, eos);
        return (t, $"the GGUF file's byte-level BPE ({tokens.Length} tokens)");
    }

    private static (TextTokenizer?, string) FromFolder(string folder)
    {
        string file = Path.Combine(folder, ModelFiles.TokenizerFile);
        if (!File.Exists(file))
        {
            return (null, $"{folder} has no {ModelFiles.TokenizerFile}");
        }

        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        JsonElement root = doc.RootElement, model = root.GetProperty("model");
        bool byteLevel = root.TryGetProperty("pre_tokenizer", out JsonElement p) && p.ValueKind == JsonValueKind.Object
            && p.TryGetProperty("type", out JsonElement type) && type.GetString() == "ByteLevel";
        if (model.GetProperty("type").GetString() != "BPE" || !byteLevel)
        {
            return (null, $"{file} is not a byte-level BPE with GPT-2's pre-tokenizer");
        }

        var tokens = new List<string>();
        foreach (JsonProperty v in model.GetProperty("vocab").EnumerateObject().OrderBy(v => v.Value.GetInt32()))
        {
            if (v.Value.GetInt32() != tokens.Count)
            {
                return (null, $"{file} has gaps in its ids");
            }

            tokens.Add(v.Name);
        }

        int regular = tokens.Count;
        if (root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement a in added.EnumerateArray().OrderBy(a => a.GetProperty("id").GetInt32()))
            {
                if (a.GetProperty("id").GetInt32() != tokens.Count)
                {
                    return (null, $"{file} has added tokens that are not after its vocabulary");
                }

                tokens.Add(a.GetProperty("content").GetString() ?? "");
            }
        }

        int eos = -1;
        string generation = Path.Combine(folder, ModelFiles.GenerationConfigFile);
        if (File.Exists(generation))
        {
            using var g = JsonDocument.Parse(File.ReadAllBytes(generation));
            if (g.RootElement.TryGetProperty("eos_token_id", out JsonElement e) && e.ValueKind == JsonValueKind.Number)
            {
                eos = e.GetInt32();
            }
        }

        return (TextTokenizer.FromByteLevel(tokens, regular, eos), $"{ModelFiles.TokenizerFile} ({tokens.Count} tokens)");
    }
}
