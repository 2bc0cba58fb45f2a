using System.Text.Json;
using Harness.Backends;
using Harness.Tokenization;

namespace Harness.Models.Formats;

/// <summary>
/// The tokenizer a model on disk brings, where the harness can run it: from a Hugging Face folder's
/// tokenizer.json, a byte-level BPE (its ByteLevel pre-tokenizer's GPT-2 split, or the regex of its
/// Split pre-tokenizer: Llama 3, Qwen2) or a SentencePiece-style BPE (byte_fallback, Metaspace or a
/// Prepend/Replace normalizer: Llama 2, TinyLlama, Mistral); from a GGUF file, a <c>gpt2</c>
/// vocabulary with the split its <c>tokenizer.ggml.pre</c> names, or a <c>llama</c> (SentencePiece)
/// vocabulary with scores, token types and byte tokens. Anything else (Unigram, WordPiece, an unknown
/// pre-tokenizer name) gives null and a reason, and text goes through GPT-2's BPE mapped into the
/// model's vocabulary as for seeded models (serve says so).
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

        (TextTokenizer? t, string note) = Read(path);
        return t is not null && t.VocabularySize > c.Vocab
            ? (null, $"{note} has {t.VocabularySize} ids, more than the embedding's {c.Vocab}")
            : (t, note);
    }

    /// <summary>
    /// The tokenizer of a model folder, a GGUF file or a tokenizer.json file (<c>--tokenizer PATH</c>), or null with why.
    /// </summary>
    public static (TextTokenizer? Tokenizer, string Note) Read(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                string file = Path.Combine(path, ModelFiles.TokenizerFile);
                return File.Exists(file) ? FromJson(file, path) : (null, $"{path} has no {ModelFiles.TokenizerFile}");
            }

            if (path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
            {
                return FromGguf(path);
            }

            return File.Exists(path) ? FromJson(path, Path.GetDirectoryName(Path.GetFullPath(path))!) : (null, $"{path} does not exist");
        }
        catch (Exception e)
            when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException
                or InvalidCastException)
        {
            return (null, $"the model's tokenizer could not be read ({e.Message})");
        }
    }

    /// <summary>The model's chat template in Jinja: tokenizer_config.json's <c>chat_template</c> (a string, or the "default" of
    /// a list) or GGUF's <c>tokenizer.chat_template</c>; null for a seeded model or a model with none.</summary>
    public static string? ChatTemplateOf(DecoderConfig c)
    {
        if (c.WeightsPath is not { } path)
        {
            return null;
        }

        if (File.Exists(path))
        {
            using GgufFile g = Gguf.Open(path);
            return g.Text("tokenizer.chat_template");
        }

        using JsonDocument? config = ReadJson(Path.Combine(path, ModelFiles.TokenizerConfigFile));
        if (config is null || !config.RootElement.TryGetProperty("chat_template", out JsonElement t))
        {
            return null;
        }

        return t.ValueKind switch
        {
            JsonValueKind.String => t.GetString(),
            JsonValueKind.Array => t.EnumerateArray()
                .Where(x => x.TryGetProperty("name", out JsonElement n) && n.GetString() == "default")
                .Select(x => x.GetProperty("template").GetString()).FirstOrDefault(),
            _ => null,
        };
    }

    private static (TextTokenizer?, string) FromGguf(string path)
    {
        using GgufFile g = Gguf.Open(path);
        string model = g.Text("tokenizer.ggml.model") ?? "none";
        if (g.Array("tokenizer.ggml.tokens") is not { } tokenArray)
        {
            return (null, $"the GGUF file has no vocabulary (tokenizer.ggml.tokens)");
        }

        string[] tokens = tokenArray.Select(x => (string)x).ToArray();
        object[] types = g.Array("tokenizer.ggml.token_type") ?? [];
        int Type(int id) => id < types.Length && types[id] is long t ? (int)t : SentencePieceVocabulary.NormalType;
        int Id(string key) => g.Integer($"tokenizer.ggml.{key}_token_id") is { } v ? (int)v : -1;
        if (model == "llama")
        {
            object[] scoreArray = g.Array("tokenizer.ggml.scores") ?? [];
            float[] scores = tokens.Select((_, i) => i < scoreArray.Length && scoreArray[i] is double d ? (float)d : 0f).ToArray();
            // Control, unknown and user-defined pieces are matched whole in text (llama.cpp's special tokens).
            IEnumerable<int> special = Enumerable.Range(0, tokens.Length).Where(i => Type(i) is 2 or 3 or 4);
            bool prefix = g.Metadata.GetValueOrDefault("tokenizer.ggml.add_space_prefix") is not false;
            var spm = new SentencePieceBpe(tokens, scores, null, special, Id("unknown"), prefix);
            bool addBos = g.Metadata.GetValueOrDefault("tokenizer.ggml.add_bos_token") is not false;
            TextTokenizer t = TextTokenizer.FromSentencePiece(spm, Id("eos"), Id("bos"), addBos);
            return (t, $"the GGUF file's SentencePiece vocabulary ({tokens.Length} tokens)");
        }

        string pre = g.Text("tokenizer.ggml.pre") ?? "default";
        if (model != "gpt2")
        {
            return (null, $"GGUF vocabulary '{model}' is not read (gpt2 and llama are)");
        }

        if (SplitPatterns.ForGgufName(pre) is not { } pattern)
        {
            return (null, $"the GGUF file's pre-tokenizer '{pre}' is not one the harness knows ({SplitPatterns.Known})");
        }

        int regular = 0;
        while (regular < tokens.Length && Type(regular) == SentencePieceVocabulary.NormalType)
        {
            regular++;
        }

        TextTokenizer? bpe = TextTokenizer.FromByteLevel(tokens, regular, Id("eos"), pattern == SplitPatterns.Gpt2 ? null : pattern, pre);
        return (bpe, $"the GGUF file's byte-level BPE ({tokens.Length} tokens, pre-tokenizer '{pre}')");
    }

    private static (TextTokenizer?, string) FromJson(string file, string folder)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        JsonElement root = doc.RootElement, model = root.GetProperty("model");
        string type = model.TryGetProperty("type", out JsonElement ty) ? ty.GetString() ?? "" : "";
        if (type != "BPE")
        {
            return (null, $"{file} is a {(type.Length == 0 ? "model of no stated type" : type + " model")}, which is not read (BPE is)");
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
        var added = new List<(int Id, string Content)>();
        if (root.TryGetProperty("added_tokens", out JsonElement list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement a in list.EnumerateArray().OrderBy(a => a.GetProperty("id").GetInt32()))
            {
                added.Add((a.GetProperty("id").GetInt32(), a.GetProperty("content").GetString() ?? ""));
            }
        }

        using JsonDocument? config = ReadJson(Path.Combine(folder, ModelFiles.TokenizerConfigFile));
        using JsonDocument? generation = ReadJson(Path.Combine(folder, ModelFiles.GenerationConfigFile));
        int eos = generation is not null && generation.RootElement.TryGetProperty("eos_token_id", out JsonElement e)
            && e.ValueKind == JsonValueKind.Number ? e.GetInt32() : -1;
        if (Flag(model, "byte_fallback") || Section(root, "pre_tokenizer", "Metaspace") is not null
            || Section(root, "normalizer", "Prepend") is not null)
        {
            return SentencePiece(file, root, model, tokens, added, config, eos);
        }

        JsonElement? byteLevel = Section(root, "pre_tokenizer", "ByteLevel");
        string? pattern = Section(root, "pre_tokenizer", "Split") is { } split && split.TryGetProperty("pattern", out JsonElement p)
            && p.TryGetProperty("Regex", out JsonElement regex) ? regex.GetString() : null;
        if (byteLevel is null
            || (pattern is null && byteLevel.Value.TryGetProperty("use_regex", out JsonElement r) && r.ValueKind == JsonValueKind.False))
        {
            return (null, $"{file} is a BPE that is neither byte-level (ByteLevel with GPT-2's split or a Split regex) nor "
                + $"SentencePiece-style (byte_fallback, Metaspace)");
        }

        foreach ((int id, string content) in added)
        {
            // An added token already in the vocabulary (GPT-2's <|endoftext|>) is special from there on.
            if (id < tokens.Count && tokens[id] == content)
            {
                regular = Math.Min(regular, id);
                continue;
            }

            if (id != tokens.Count)
            {
                return (null, $"{file} has added tokens that are not after its vocabulary");
            }

            tokens.Add(content);
        }

        // Qwen2's normalizer: NFC (a step of a Sequence too). Other normalizers of a byte-level BPE are not run.
        bool nfc = Section(root, "normalizer", "NFC") is not null;
        TextTokenizer? t = TextTokenizer.FromByteLevel(tokens, regular, eos, pattern, pattern is null ? "gpt-2" : "regex", nfc);
        return (t, $"{ModelFiles.TokenizerFile} ({tokens.Count} tokens, {(pattern is null ? "GPT-2's split" : "its Split regex")}"
            + $"{(nfc ? ", NFC normalizer" : "")})");
    }

    /// <summary>A SentencePiece-style BPE in a tokenizer.json: merged by rank, the file's merges; added tokens matched whole.</summary>
    private static (TextTokenizer?, string) SentencePiece(
        string file, JsonElement root, JsonElement model, List<string> vocab, List<(int Id, string Content)> added, JsonDocument? config,
        int eos)
    {
        var pieces = new string[Math.Max(vocab.Count, added.Count == 0 ? 0 : added.Max(a => a.Id) + 1)];
        vocab.CopyTo(pieces);
        foreach ((int id, string content) in added)
        {
            pieces[id] = content;
        }

        if (Array.IndexOf(pieces, null) is var hole and >= 0)
        {
            return (null, $"{file} has no token of id {hole}");
        }

        var merges = new List<string>();
        if (model.TryGetProperty("merges", out JsonElement m) && m.ValueKind == JsonValueKind.Array)
        {
            merges.AddRange(m.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Array
                ? $"{x[0].GetString()} {x[1].GetString()}"
                : x.GetString() ?? ""));
        }

        int Find(string? token) => token is null ? -1 : Array.IndexOf(pieces, token);
        string? unk = model.TryGetProperty("unk_token", out JsonElement u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
        // The leading space: a Metaspace pre-tokenizer's prepend_scheme (or add_prefix_space), or a normalizer's Prepend.
        JsonElement? meta = Section(root, "pre_tokenizer", "Metaspace");
        bool prefix = Section(root, "normalizer", "Prepend") is not null || (meta is { } ms
            && (ms.TryGetProperty("prepend_scheme", out JsonElement scheme) ? scheme.GetString() != "never"
                : !ms.TryGetProperty("add_prefix_space", out JsonElement aps) || aps.ValueKind != JsonValueKind.False));
        bool split = meta is { } mt && (!mt.TryGetProperty("split", out JsonElement sp) || sp.ValueKind != JsonValueKind.False);
        var spm = new SentencePieceBpe(pieces, null, merges, added.Select(a => a.Id), Find(unk), prefix, split);
        // BOS: the post-processor's template (a special token first) or tokenizer_config.json's bos_token with add_bos_token.
        int bos = -1;
        bool addBos = false;
        if (root.TryGetProperty("post_processor", out JsonElement post) && post.ValueKind == JsonValueKind.Object
            && post.TryGetProperty("single", out JsonElement single) && single.ValueKind == JsonValueKind.Array
            && single.GetArrayLength() > 0 && single[0].TryGetProperty("SpecialToken", out JsonElement first))
        {
            bos = Find(first.GetProperty("id").GetString());
            addBos = bos >= 0;
        }
        else if (config is not null)
        {
            bos = Find(TokenText(config.RootElement, "bos_token"));
            addBos = !config.RootElement.TryGetProperty("add_bos_token", out JsonElement ab) || ab.ValueKind != JsonValueKind.False;
        }

        if (eos < 0 && config is not null)
        {
            eos = Find(TokenText(config.RootElement, "eos_token"));
        }

        return (TextTokenizer.FromSentencePiece(spm, eos, bos, addBos),
            $"{ModelFiles.TokenizerFile} ({pieces.Length} tokens, SentencePiece-style)");
    }

    /// <summary>tokenizer_config.json's bos_token or eos_token: a string or an object with its content.</summary>
    private static string? TokenText(JsonElement config, string key) =>
        !config.TryGetProperty(key, out JsonElement v) ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out JsonElement c) ? c.GetString() : null;

    private static bool Flag(JsonElement e, string key) => e.TryGetProperty(key, out JsonElement v) && v.ValueKind == JsonValueKind.True;

    /// <summary>A section (pre_tokenizer, normalizer...) of the given type, or that step of its Sequence.</summary>
    private static JsonElement? Section(JsonElement root, string section, string type)
    {
        if (!root.TryGetProperty(section, out JsonElement s) || s.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (s.TryGetProperty("type", out JsonElement t) && t.GetString() == type)
        {
            return s;
        }

        foreach (string list in (ReadOnlySpan<string>)["pretokenizers", "normalizers"])
        {
            if (s.TryGetProperty(list, out JsonElement steps) && steps.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement step in steps.EnumerateArray())
                {
                    if (step.TryGetProperty("type", out JsonElement st) && st.GetString() == type)
                    {
                        return step;
                    }
                }
            }
        }

        return null;
    }

    private static JsonDocument? ReadJson(string path) => File.Exists(path) ? JsonDocument.Parse(File.ReadAllBytes(path)) : null;
}
