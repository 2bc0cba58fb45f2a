using System.Text.Json;
using System.Text.Json.Nodes;
using Harness.Backends;
using Harness.Tokenization;

namespace Harness.Models.Formats;

/// <summary>Formats <c>harness export</c> writes.</summary>
public enum ExportFormat
{
    /// <summary>A Hugging Face folder: config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
    /// generation_config.json.</summary>
    Hf,

    /// <summary>One GGUF file (llama, qwen2 or gpt2 architecture metadata, a gpt2-style BPE vocabulary and a chat template).</summary>
    Gguf,

    /// <summary>An Optimum-layout ONNX folder: model.onnx (a decoder with past, standard ONNX ops) and its external data
    /// model.onnx_data, with the Hugging Face folder's config, generation config and tokenizer files.</summary>
    Onnx,

    /// <summary>The <see cref="Onnx"/> folder with onnxruntime-genai's genai_config.json (a decoder whose present is the past
    /// concatenated with the new positions: past_present_share_buffer false).</summary>
    Genai,
}

/// <summary>The tokenizer <c>harness export</c> writes with the weights (<c>--tokenizer</c>).</summary>
public enum ExportTokenizer
{
    /// <summary>A byte-level BPE cut from GPT-2's (<see cref="ByteLevelVocabulary"/>): tokenizer.json's ByteLevel, GGUF's gpt2.</summary>
    Gpt2,

    /// <summary>A SentencePiece-style BPE (<see cref="SentencePieceVocabulary"/>): tokenizer.json's BPE with byte fallback and a
    /// Prepend/Replace normalizer (Llama 2's layout), GGUF's llama vocabulary with scores.</summary>
    Spm,
}

/// <summary>
/// Writes a decoder's weights (the seeded ones of <c>run generate --model-config NAME</c>, or any
/// <see cref="IWeightSource"/>) as a Hugging Face folder, a GGUF file or an Optimum ONNX folder (whose graph the
/// ONNX backend writes), with a tokenizer of the model's
/// vocabulary size (a byte-level BPE, <see cref="ByteLevelVocabulary"/>, or a SentencePiece-style BPE,
/// <see cref="SentencePieceVocabulary"/>) and the harness's chat
/// template, so that other engines can run exactly the weights the harness measured. The folder is
/// written under a temporary name and renamed when complete; the file is written atomically.
/// </summary>
public static class ModelExport
{
    public static ExportFormat ParseFormat(string text) => text.Trim().ToLowerInvariant() switch
    {
        "hf" => ExportFormat.Hf,
        "gguf" => ExportFormat.Gguf,
        "onnx" => ExportFormat.Onnx,
        "genai" => ExportFormat.Genai,
        _ => throw HarnessException.BadInput($"Unknown export format '{text}'; expected hf, gguf, onnx or genai."),
    };

    /// <summary>--tokenizer: gpt2 (the default) or spm.</summary>
    public static ExportTokenizer ParseTokenizer(string text) => text.Trim().ToLowerInvariant() switch
    {
        "gpt2" => ExportTokenizer.Gpt2,
        "spm" => ExportTokenizer.Spm,
        _ => throw HarnessException.BadInput($"Unknown export tokenizer '{text}'; expected gpt2 or spm."),
    };

    /// <summary>
    /// The block type of <c>--dtype q8_0|q4_0|q4_K|q6_K</c> (GGUF only: llama.cpp's blocks, the matrices quantized, the
    /// norms and biases f32); null for a float dtype.
    /// </summary>
    public static TensorElement? GgufBlocks(string? dtype) => dtype?.Trim().ToLowerInvariant() switch
    {
        "q8_0" => TensorElement.Q8Zero,
        "q4_0" => TensorElement.Q4Zero,
        "q4_k" or "q4_k_m" => TensorElement.Q4K,
        "q6_k" => TensorElement.Q6K,
        _ => null,
    };

    /// <summary>
    /// <c>--dtype q4_K_M</c>: llama.cpp's q4_K_M mix, q4_K matrices with q6_K for output.weight and for attn_v and ffn_down in the
    /// layers llama.cpp gives more bits (the first and last eighth of the layers, and every third between).
    /// </summary>
    public static bool IsQ4KMedium(string? dtype) => string.Equals(dtype?.Trim(), "q4_K_M", StringComparison.OrdinalIgnoreCase);

    /// <param name="maxShardBytes">hf: split the weights into shards of at most this many bytes, with model.safetensors.index.json.</param>
    /// <param name="onnxGraph">onnx: writes the graph and its data into the folder it is given (the ONNX backend's writer).</param>
    /// <param name="ggufMatrices">gguf: the matrices' element type instead of the dtype's (q8_0, to test the dequantizing reader).</param>
    public static void Write(
        DecoderConfig c,
        TensorDType dtype,
        ExportFormat format,
        string output,
        IWeightSource weights,
        long maxShardBytes = long.MaxValue,
        TensorElement? ggufMatrices = null,
        ExportTokenizer tokenizer = ExportTokenizer.Gpt2,
        Action<string>? onnxGraph = null,
        bool q4KMedium = false)
    {
        if (c.UnbuiltFeature is { } feature)
        {
            throw HarnessException.BadInput($"{c.Name} has {feature}, which the harness's decoders do not build, so it has no weights to "
                + $"export.");
        }

        TensorElement element = dtype switch
        {
            TensorDType.Float32 => TensorElement.F32,
            TensorDType.Float16 => TensorElement.F16,
            TensorDType.BFloat16 when format == ExportFormat.Hf => TensorElement.BF16,
            _ => throw HarnessException.BadInput($"--dtype {dtype.ShortName()} is not written to {format.ToString().ToLowerInvariant()}; "
                + $"use fp32 or fp16."),
        };
        if (ggufMatrices is { } blocks && blocks.IsQuantized())
        {
            if (format != ExportFormat.Gguf)
            {
                throw HarnessException.BadInput($"--dtype {blocks.Name()} is written to gguf only.");
            }

            // A file row is a matrix's input (canonical rows) or, for the embedding tables, one token's (position's) vector.
            static int RowAxis(WeightSpec w) => w.Name is WeightLayout.TokenEmbedding or WeightLayout.PositionEmbedding ? 1 : 0;
            int n = blocks.BlockElements();
            if (WeightLayout.For(c).FirstOrDefault(w => w.Shape.Length == 2 && w.Shape[RowAxis(w)] % n != 0) is { } odd)
            {
                throw HarnessException.BadInput($"--dtype {blocks.Name()}: {c.Name}'s {odd.Name} [{string.Join(",", odd.Shape)}] has "
                    + $"rows that are not whole blocks of {n}.");
            }
        }

        if (c.Architecture == DecoderArchitecture.Gpt2 && !c.QkvBias)
        {
            throw HarnessException.BadInput($"{c.Name} is a gpt2 shape without q/k/v biases, which neither format's gpt2 has.");
        }

        if (Path.Exists(output))
        {
            throw HarnessException.BadInput($"Export output '{output}' already exists; give a new path.");
        }

        string? parent = Path.GetDirectoryName(Path.GetFullPath(output));
        if (parent is not null && !Directory.Exists(parent))
        {
            throw HarnessException.BadInput($"Export output '{output}': its folder {parent} does not exist.");
        }

        // Either vocabulary is checked against the size before anything is written.
        object vocab = tokenizer == ExportTokenizer.Spm ? SentencePieceVocabulary.ForSize(c.Vocab) : ByteLevelVocabulary.ForSize(c.Vocab);
        if (format == ExportFormat.Gguf)
        {
            WriteGguf(c, ggufMatrices ?? element, output, weights, vocab, q4KMedium);
        }
        else if (format is ExportFormat.Onnx or ExportFormat.Genai)
        {
            Action<string> graph = onnxGraph ?? throw new ArgumentNullException(nameof(onnxGraph), "--format onnx needs the ONNX writer");
            if (format == ExportFormat.Genai && c.Architecture == DecoderArchitecture.Gpt2)
            {
                throw HarnessException.BadInput($"{c.Name} is a gpt2 shape: onnxruntime-genai's gpt2 type keeps a combined past, not "
                    + $"this graph's; export it as onnx.");
            }

            WriteFolder(output, tmp =>
            {
                graph(tmp);
                WriteFolderFiles(c, element, tmp, vocab);
                if (format == ExportFormat.Genai)
                {
                    WriteJson(Path.Combine(tmp, GenAiConfigFile), GenAiConfig(c, vocab));
                }
            });
        }
        else
        {
            WriteFolder(output, tmp => WriteHf(c, element, tmp, weights, vocab, maxShardBytes));
        }
    }

    /// <summary>Writes a folder under a temporary name beside <paramref name="output"/>, renamed when complete (else removed).</summary>
    private static void WriteFolder(string output, Action<string> write)
    {
        string tmp = output.TrimEnd('/') + ".tmp-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(tmp);
        try
        {
            write(tmp);
            Directory.Move(tmp, output);
        }
        catch
        {
            if (Directory.Exists(tmp))
            {
                Directory.Delete(tmp, recursive: true);
            }

            throw;
        }
    }

    /// <summary>The file tensors of a format, each computed from its canonical tensor when written (one canonical tensor kept at a
    /// time).</summary>
    private static List<TensorToWrite> Tensors(
        DecoderConfig c, CheckpointFormat format, IWeightSource weights, Func<FileTensor, long[], TensorElement> elementOf)
    {
        Dictionary<string, WeightSpec> specs = WeightLayout.For(c).ToDictionary(s => s.Name, StringComparer.Ordinal);
        string? currentName = null;
        float[] current = [];
        float[] Canonical(WeightSpec spec)
        {
            if (currentName != spec.Name)
            {
                current = [];
                current = weights.Generate(spec);
                currentName = spec.Name;
            }

            return current;
        }

        return CheckpointLayout.For(c, format).Select(f =>
        {
            WeightSpec spec = specs[f.Canonical];
            long[] shape = CheckpointLayout.ShapeOf(f, spec);
            return new TensorToWrite(f.Name, shape, elementOf(f, shape), () => CheckpointLayout.Extract(f, spec, Canonical(spec)));
        }).ToList();
    }

    private static void WriteHf(
        DecoderConfig c, TensorElement element, string folder, IWeightSource weights, object vocab, long maxShardBytes)
    {
        List<TensorToWrite> tensors = Tensors(c, CheckpointFormat.HuggingFace, weights, (_, _) => element);
        var shards = new List<List<TensorToWrite>> { new() };
        long bytes = 0;
        foreach (TensorToWrite t in tensors)
        {
            long size = t.Element.ByteCount(t.Elements);
            if (bytes > 0 && bytes + size > maxShardBytes)
            {
                shards.Add([]);
                bytes = 0;
            }

            shards[^1].Add(t);
            bytes += size;
        }

        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        if (shards.Count == 1)
        {
            SafeTensors.Write(Path.Combine(folder, SafeTensors.SingleFile), tensors, metadata);
        }
        else
        {
            var map = new JsonObject();
            for (int i = 0; i < shards.Count; i++)
            {
                string name = $"model-{i + 1:00000}-of-{shards.Count:00000}.safetensors";
                SafeTensors.Write(Path.Combine(folder, name), shards[i], metadata);
                foreach (TensorToWrite t in shards[i])
                {
                    map[t.Name] = name;
                }
            }

            long total = tensors.Sum(t => t.Element.ByteCount(t.Elements));
            var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = map };
            WriteJson(Path.Combine(folder, SafeTensors.IndexFile), index);
        }

        WriteFolderFiles(c, element, folder, vocab);
    }

    /// <summary>The files beside the weights of a Hugging Face (or Optimum) folder: config, tokenizer, generation config.</summary>
    private static void WriteFolderFiles(DecoderConfig c, TensorElement element, string folder, object vocab)
    {
        (int? bos, int? eos) = vocab is SentencePieceVocabulary
            ? (SentencePieceVocabulary.BeginOfText, SentencePieceVocabulary.EndOfText)
            : (((ByteLevelVocabulary)vocab).EndOfText, ((ByteLevelVocabulary)vocab).EndOfText);
        WriteJson(Path.Combine(folder, HfConfig.FileName), HfConfig.Write(c, element, bos, eos));
        if (vocab is SentencePieceVocabulary spm)
        {
            WriteJson(Path.Combine(folder, ModelFiles.TokenizerFile), TokenizerJson(spm));
            WriteJson(Path.Combine(folder, ModelFiles.TokenizerConfigFile), new JsonObject
            {
                ["tokenizer_class"] = "LlamaTokenizerFast",
                ["model_max_length"] = c.MaxPositions,
                ["bos_token"] = spm.Tokens[SentencePieceVocabulary.BeginOfText],
                ["eos_token"] = spm.Tokens[SentencePieceVocabulary.EndOfText],
                ["unk_token"] = spm.Tokens[SentencePieceVocabulary.Unknown],
                ["add_bos_token"] = true,
                ["add_eos_token"] = false,
                ["legacy"] = true,
                ["chat_template"] = ChatTemplate.Jinja,
            });
        }
        else
        {
            WriteJson(Path.Combine(folder, ModelFiles.TokenizerFile), TokenizerJson((ByteLevelVocabulary)vocab));
            string? eot = eos is null ? null : ByteLevelVocabulary.EndOfTextToken;
            WriteJson(Path.Combine(folder, ModelFiles.TokenizerConfigFile), new JsonObject
            {
                ["tokenizer_class"] = "GPT2Tokenizer",
                ["model_max_length"] = c.MaxPositions,
                ["bos_token"] = eot,
                ["eos_token"] = eot,
                ["add_bos_token"] = false,
                ["chat_template"] = ChatTemplate.Jinja,
            });
        }

        var generation = new JsonObject { ["do_sample"] = false };
        if (eos is { } e)
        {
            generation["bos_token_id"] = bos;
            generation["eos_token_id"] = e;
        }

        WriteJson(Path.Combine(folder, ModelFiles.GenerationConfigFile), generation);
    }

    private static void WriteGguf(
        DecoderConfig c, TensorElement element, string output, IWeightSource weights, object vocab, bool q4KMedium)
    {
        bool gpt2 = c.Architecture == DecoderArchitecture.Gpt2;
        string arch = gpt2 ? "gpt2" : c.QkvBias ? "qwen2" : "llama";
        var m = new List<KeyValuePair<string, object>>();
        void Add(string key, object value) => m.Add(new(key, value));
        Add("general.architecture", arch);
        Add("general.name", c.Name);
        // llama.cpp's file types: 0 all f32, 1 mostly f16, 2 mostly q4_0, 7 mostly q8_0, 14 mostly q4_K (q4_K_S), 18 mostly q6_K.
        Add("general.file_type", element switch
        {
            TensorElement.F16 => 1u,
            TensorElement.Q4Zero => 2u,
            TensorElement.Q8Zero => 7u,
            TensorElement.Q4K => q4KMedium ? 15u : 14u,
            TensorElement.Q6K => 18u,
            _ => 0u,
        });
        Add($"{arch}.context_length", (uint)c.MaxPositions);
        Add($"{arch}.embedding_length", (uint)c.Hidden);
        Add($"{arch}.block_count", (uint)c.Layers);
        Add($"{arch}.feed_forward_length", (uint)c.Intermediate);
        Add($"{arch}.attention.head_count", (uint)c.Heads);
        if (gpt2)
        {
            Add($"{arch}.attention.layer_norm_epsilon", (float)c.NormEps);
        }
        else
        {
            Add($"{arch}.attention.head_count_kv", (uint)c.KvHeads);
            Add($"{arch}.rope.freq_base", (float)c.RopeTheta);
            Add($"{arch}.rope.dimension_count", (uint)c.HeadDim);
            Add($"{arch}.attention.layer_norm_rms_epsilon", (float)c.NormEps);
        }

        Add($"{arch}.vocab_size", (uint)c.Vocab);
        if (vocab is SentencePieceVocabulary spm)
        {
            // llama.cpp's SentencePiece vocabulary ("llama"): pieces, scores, token types, the special ids.
            Add("tokenizer.ggml.model", "llama");
            Add("tokenizer.ggml.tokens", spm.Tokens.ToArray());
            Add("tokenizer.ggml.scores", spm.Scores.ToArray());
            Add("tokenizer.ggml.token_type", spm.Types.ToArray());
            Add("tokenizer.ggml.bos_token_id", (uint)SentencePieceVocabulary.BeginOfText);
            Add("tokenizer.ggml.eos_token_id", (uint)SentencePieceVocabulary.EndOfText);
            Add("tokenizer.ggml.unknown_token_id", (uint)SentencePieceVocabulary.Unknown);
            Add("tokenizer.ggml.add_bos_token", true);
            Add("tokenizer.ggml.add_eos_token", false);
            Add("tokenizer.ggml.add_space_prefix", true);
        }
        else
        {
            var bpe = (ByteLevelVocabulary)vocab;
            Add("tokenizer.ggml.model", "gpt2");
            Add("tokenizer.ggml.pre", "gpt-2");
            Add("tokenizer.ggml.tokens", bpe.Tokens.ToArray());
            Add("tokenizer.ggml.token_type", bpe.Tokens.Select((_, i) => i < bpe.RegularTokens ? 1 : 3).ToArray());
            Add("tokenizer.ggml.merges", bpe.Merges.ToArray());
            if (bpe.EndOfText is { } e)
            {
                Add("tokenizer.ggml.bos_token_id", (uint)e);
                Add("tokenizer.ggml.eos_token_id", (uint)e);
            }
        }

        Add("tokenizer.chat_template", ChatTemplate.Jinja);
        // As llama.cpp's converter: vectors (norms, biases) stay f32 in an f16 file.
        List<TensorToWrite> tensors = Tensors(c, CheckpointFormat.Gguf, weights, (f, shape) =>
            shape.Length == 1 ? TensorElement.F32 : q4KMedium && MoreBits(f.Name, c.Layers) ? TensorElement.Q6K : element);
        Gguf.Write(output, m, tensors);
    }

    /// <summary>The tensors llama.cpp's q4_K_M gives q6_K (its use_more_bits: the first and last eighth, every third between).</summary>
    private static bool MoreBits(string tensor, int layers)
    {
        if (tensor == "output.weight")
        {
            return true;
        }

        string[] parts = tensor.Split('.');
        return parts is ["blk", var index, "attn_v" or "ffn_down", "weight"]
            && int.Parse(index, System.Globalization.CultureInfo.InvariantCulture) is var i
            && (i < layers / 8 || i >= 7 * layers / 8 || (i - (layers / 8)) % 3 == 2);
    }

    /// <summary>onnxruntime-genai's configuration of a folder (<see cref="ExportFormat.Genai"/>).</summary>
    public const string GenAiConfigFile = "genai_config.json";

    /// <summary>
    /// genai_config.json for the Optimum-layout graph: the decoder's names (past_key_values.%d.key, present.%d.key), its shape,
    /// and greedy search over a present that is the past concatenated with the new positions (past_present_share_buffer false).
    /// </summary>
    public static JsonObject GenAiConfig(DecoderConfig c, object vocab)
    {
        (int bos, int eos) = vocab is SentencePieceVocabulary
            ? (SentencePieceVocabulary.BeginOfText, SentencePieceVocabulary.EndOfText)
            : (((ByteLevelVocabulary)vocab).EndOfText ?? 0, ((ByteLevelVocabulary)vocab).EndOfText ?? 0);
        return new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["bos_token_id"] = bos,
                ["eos_token_id"] = eos,
                ["pad_token_id"] = eos,
                ["context_length"] = c.MaxPositions,
                ["vocab_size"] = c.Vocab,
                ["type"] = c.QkvBias ? "qwen2" : "llama",
                ["decoder"] = new JsonObject
                {
                    ["session_options"] = new JsonObject { ["log_id"] = "onnxruntime-genai", ["provider_options"] = new JsonArray() },
                    ["filename"] = ModelFiles.OnnxGraphFile,
                    ["head_size"] = c.HeadDim,
                    ["hidden_size"] = c.Hidden,
                    ["num_attention_heads"] = c.Heads,
                    ["num_key_value_heads"] = c.KvHeads,
                    ["num_hidden_layers"] = c.Layers,
                    ["inputs"] = new JsonObject
                    {
                        ["input_ids"] = "input_ids",
                        ["attention_mask"] = "attention_mask",
                        ["position_ids"] = "position_ids",
                        ["past_key_names"] = "past_key_values.%d.key",
                        ["past_value_names"] = "past_key_values.%d.value",
                    },
                    ["outputs"] = new JsonObject
                    {
                        ["logits"] = "logits",
                        ["present_key_names"] = "present.%d.key",
                        ["present_value_names"] = "present.%d.value",
                    },
                },
            },
            ["search"] = new JsonObject
            {
                ["do_sample"] = false,
                ["num_beams"] = 1,
                ["num_return_sequences"] = 1,
                ["max_length"] = c.MaxPositions,
                ["min_length"] = 0,
                ["past_present_share_buffer"] = false,
                ["repetition_penalty"] = 1.0,
                ["temperature"] = 1.0,
                ["top_k"] = 1,
                ["top_p"] = 1.0,
                ["early_stopping"] = true,
                ["length_penalty"] = 1.0,
                ["no_repeat_ngram_size"] = 0,
                ["diversity_penalty"] = 0.0,
            },
        };
    }

    /// <summary>A Hugging Face tokenizer.json of a byte-level BPE vocabulary (GPT-2's pre-tokenizer and decoder).</summary>
    public static JsonObject TokenizerJson(ByteLevelVocabulary vocab)
    {
        var ids = new JsonObject();
        for (int i = 0; i < vocab.RegularTokens; i++)
        {
            ids[vocab.Tokens[i]] = i;
        }

        var added = new JsonArray();
        for (int i = vocab.RegularTokens; i < vocab.Tokens.Count; i++)
        {
            added.Add(SpecialToken(i, vocab.Tokens[i]));
        }

        JsonObject ByteLevel(bool prefix) => new()
        {
            ["type"] = "ByteLevel",
            ["add_prefix_space"] = prefix,
            ["trim_offsets"] = true,
            ["use_regex"] = true,
        };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = ByteLevel(false),
            ["post_processor"] = ByteLevel(true),
            ["decoder"] = ByteLevel(true),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "",
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = ids,
                ["merges"] = new JsonArray(vocab.Merges.Select(x => (JsonNode?)x).ToArray()),
            },
        };
    }

    /// <summary>
    /// A Hugging Face tokenizer.json of a SentencePiece-style vocabulary, in Llama 2's layout: a BPE with byte fallback, the
    /// merges transformers' converter makes from the scores, <c>&lt;unk&gt;</c>, <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c> as added
    /// tokens, a normalizer that prepends "▁" and writes spaces as "▁", <c>&lt;s&gt;</c> put first by the post-processor, and the
    /// decoder that undoes it.
    /// </summary>
    public static JsonObject TokenizerJson(SentencePieceVocabulary vocab)
    {
        var ids = new JsonObject();
        var added = new JsonArray();
        for (int i = 0; i < vocab.Tokens.Count; i++)
        {
            ids[vocab.Tokens[i]] = i;
            if (vocab.Types[i] is SentencePieceVocabulary.UnknownType or SentencePieceVocabulary.ControlType)
            {
                added.Add(SpecialToken(i, vocab.Tokens[i]));
            }
        }

        string space = SentencePieceBpe.Space.ToString();
        JsonObject Replace(string from, string to) => new()
        {
            ["type"] = "Replace",
            ["pattern"] = new JsonObject { ["String"] = from },
            ["content"] = to,
        };
        string bos = vocab.Tokens[SentencePieceVocabulary.BeginOfText];
        JsonObject Special(string id) => new() { ["SpecialToken"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } };
        JsonObject Sequence(string id, int typeId) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = typeId } };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(new JsonObject { ["type"] = "Prepend", ["prepend"] = space }, Replace(" ", space)),
            },
            ["pre_tokenizer"] = null,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(Special(bos), Sequence("A", 0)),
                ["pair"] = new JsonArray(Special(bos), Sequence("A", 0), Special(bos), Sequence("B", 1)),
                ["special_tokens"] = new JsonObject
                {
                    [bos] = new JsonObject
                    {
                        ["id"] = bos,
                        ["ids"] = new JsonArray(SentencePieceVocabulary.BeginOfText),
                        ["tokens"] = new JsonArray(bos),
                    },
                },
            },
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    Replace(space, " "),
                    new JsonObject { ["type"] = "ByteFallback" },
                    new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = vocab.Tokens[SentencePieceVocabulary.Unknown],
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = true,
                ["byte_fallback"] = true,
                ["vocab"] = ids,
                ["merges"] = new JsonArray(vocab.Merges().Select(x => (JsonNode?)x).ToArray()),
            },
        };
    }

    /// <summary>A tokenizer.json added_tokens entry: a special token matched whole, never normalized or split.</summary>
    private static JsonObject SpecialToken(int id, string content) => new()
    {
        ["id"] = id,
        ["content"] = content,
        ["single_word"] = false,
        ["lstrip"] = false,
        ["rstrip"] = false,
        ["normalized"] = false,
        ["special"] = true,
    };

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static void WriteJson(string path, JsonNode node) =>
        Checkpoint.WriteAtomically(path, s => JsonSerializer.Serialize(s, node, Indented));
}
