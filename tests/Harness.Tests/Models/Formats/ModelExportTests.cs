using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Harness.Backends;
using Harness.Models;
using Harness.Models.Formats;

namespace Harness.Tests.Models.Formats;

/// <summary>
/// harness export and --model PATH over files the tests write: every canonical tensor read back from a
/// Hugging Face folder (one file or shards) or a GGUF file equals the seeded one, the shape read back
/// is the shape exported, and every kind of bad file is one sentence naming the file (exit 2).
/// </summary>
public sealed class ModelExportTests : IDisposable
{
    private const int Seed = 1234;
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, ExportFormat> Models() => new()
    {
        { "tiny-llama-test", ExportFormat.Hf },
        { "tiny-llama-test", ExportFormat.Gguf },
        { "tiny-gpt2-test", ExportFormat.Hf },
        { "tiny-gpt2-test", ExportFormat.Gguf },
        { "qwen2.5-0.5b", ExportFormat.Gguf },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Weights_read_back_are_the_seeded_weights_and_the_shape_is_the_same(string model, ExportFormat format)
    {
        DecoderConfig c = Shrink(ModelCatalog.Load(model));
        string path = Export(c, format);
        DecoderConfig back = ModelFiles.Load(path);

        Assert.Equal(c.ShapeHash(), back.ShapeHash());
        Assert.Equal(Path.GetFullPath(path), back.WeightsPath);
        AssertSameWeights(c, back);
    }

    [Fact]
    public void A_sharded_folder_reads_back_the_same_weights()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test");
        string path = Export(c, ExportFormat.Hf, maxShardBytes: 100_000);
        Assert.True(File.Exists(Path.Combine(path, SafeTensors.IndexFile)));
        Assert.True(Directory.GetFiles(path, "*.safetensors").Length > 2);
        AssertSameWeights(c, ModelFiles.Load(path));
    }

    [Theory]
    [InlineData(ExportFormat.Hf, TensorDType.Float16)]
    [InlineData(ExportFormat.Hf, TensorDType.BFloat16)]
    [InlineData(ExportFormat.Gguf, TensorDType.Float16)]
    public void Half_precision_exports_hold_the_rounded_seeded_weights(ExportFormat format, TensorDType dtype)
    {
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test");
        string path = Export(c, format, dtype: dtype);
        DecoderConfig back = ModelFiles.Load(path);
        using var gen = new WeightGenerator(Seed, c.Layers);
        using IWeightSource read = ModelWeights.Open(back, 0);
        WeightSpec spec = WeightLayout.For(c).First(s => s.Name == "h1.attn.qkv.weight");
        float[] expected = gen.Generate(spec), actual = read.Generate(spec);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], Math.Abs(expected[i]) * (dtype == TensorDType.BFloat16 ? 4e-3 : 5e-4) + 1e-7);
        }

        Assert.NotEqual(expected, actual);
    }

    [Theory]
    [InlineData("q4_0", 18.0 / 32)]
    [InlineData("q8_0", 34.0 / 32)]
    [InlineData("fp32", 4.0)]
    public void A_gguf_files_bytes_per_weight_as_stored_follow_its_blocks(string type, double matrices)
    {
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test") with { Intermediate = 192 };
        string path = Path.Combine(_dir, $"stored-{type}.gguf");
        using (var gen = new WeightGenerator(Seed, c.Layers))
        {
            ModelExport.Write(c, TensorDType.Float32, ExportFormat.Gguf, path, gen, ggufMatrices: ModelExport.GgufBlocks(type));
        }

        // The matrices hold all but the norm gains (f32, a few hundred of tens of thousands of weights).
        double stored = ModelFiles.StoredBytesPerWeight(path);
        Assert.InRange(stored, matrices, matrices * 1.02 + 0.01);
    }

    [Fact]
    public void A_q8_0_gguf_is_dequantized_within_half_a_step_and_the_result_says_so()
    {
        // llama.cpp's blocks lie along each row: every row a whole number of 32 (tiny-llama-test's intermediate is 176).
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test") with { Intermediate = 192 };
        string path = Path.Combine(_dir, "q8.gguf");
        using (var gen = new WeightGenerator(Seed, c.Layers))
        {
            ModelExport.Write(c, TensorDType.Float32, ExportFormat.Gguf, path, gen, ggufMatrices: TensorElement.Q8Zero);
        }

        DecoderConfig back = ModelFiles.Load(path);
        using (var gen = new WeightGenerator(Seed, c.Layers))
        using (IWeightSource read = ModelWeights.Open(back, 0))
        {
            WeightSpec spec = WeightLayout.For(c).First(s => s.Name == "h0.mlp.down.weight");
            float[] expected = gen.Generate(spec), actual = read.Generate(spec);
            float max = expected.Max(Math.Abs);
            for (int i = 0; i < expected.Length; i++)
            {
                // Each block's step is its largest magnitude / 127 (stored as fp16):
                // half a step, and the step's rounding, bound every error.
                Assert.True(Math.Abs(expected[i] - actual[i]) <= max / 127 * 0.6f, $"element {i}: {expected[i]} read as {actual[i]}");
            }

            Assert.NotEqual(expected, actual);
        }

        Dictionary<string, object?> details = GenerateSettings.DescribeModel(back, TensorDType.Float32, 1);
        Assert.Equal("f32, q8_0", details[Harness.Metrics.ConfigKeys.ModelWeightsDtypes]);
        Assert.Contains("dequantized", (string)details[Harness.Metrics.ConfigKeys.ModelDequantized]!);
    }

    [Fact]
    public void The_folder_has_a_tokenizer_of_the_embedding_size_a_chat_template_and_generation_defaults()
    {
        DecoderConfig c = ModelCatalog.Load("llama-1b") with { Layers = 1, Hidden = 32, Heads = 2, KvHeads = 1, Intermediate = 64 };
        string path = Export(c, ExportFormat.Hf);
        var tok = JsonNode.Parse(File.ReadAllText(Path.Combine(path, ModelFiles.TokenizerFile)))!;
        int regular = tok["model"]!["vocab"]!.AsObject().Count, added = tok["added_tokens"]!.AsArray().Count;
        Assert.Equal(c.Vocab, regular + added);
        Assert.Equal(c.Vocab - 1 - 256, tok["model"]!["merges"]!.AsArray().Count);
        var tc = JsonNode.Parse(File.ReadAllText(Path.Combine(path, ModelFiles.TokenizerConfigFile)))!;
        Assert.Contains("<|im_start|>", tc["chat_template"]!.GetValue<string>());
        var gc = JsonNode.Parse(File.ReadAllText(Path.Combine(path, ModelFiles.GenerationConfigFile)))!;
        Assert.Equal(c.Vocab - 1, gc["eos_token_id"]!.GetValue<int>());
    }

    [Fact]
    public void The_gguf_file_carries_llama_cpp_metadata_and_a_vocabulary()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test");
        string path = Export(c, ExportFormat.Gguf);
        using GgufFile g = Gguf.Open(path);
        Assert.Equal("llama", g.Architecture);
        Assert.Equal(c.Hidden, g.Integer("llama.embedding_length"));
        Assert.Equal(c.KvHeads, g.Integer("llama.attention.head_count_kv"));
        Assert.Equal(c.HeadDim, g.Integer("llama.rope.dimension_count"));
        Assert.Equal("gpt2", g.Text("tokenizer.ggml.model"));
        Assert.Equal(c.Vocab, g.Array("tokenizer.ggml.tokens")!.Length);
        Assert.Contains("<|im_start|>", g.Text("tokenizer.chat_template"));
        // llama.cpp's shapes: ne[0] is the input width, so [out, in] in PyTorch order.
        Assert.Equal([c.Heads * c.HeadDim, c.Hidden], g.Tensors.Tensors["blk.0.attn_q.weight"].Shape);
        Assert.Equal([c.Vocab, c.Hidden], g.Tensors.Tensors["output.weight"].Shape);
    }

    [Fact]
    public void Export_refuses_an_existing_output_and_leaves_no_temporary_files()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test");
        string path = Export(c, ExportFormat.Hf);
        var e = Assert.Throws<HarnessException>(() => Export(c, ExportFormat.Hf, name: Path.GetFileName(path)));
        AssertOneSentence(e, path);
        Assert.Single(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void An_onnx_folder_without_its_graph_or_with_an_unreadable_one_is_bad_input_naming_the_file()
    {
        // An Optimum folder's files around the graph (config, tokenizer, external data); the graph itself missing, then garbage.
        string path = Export(ModelCatalog.Load("tiny-llama-test"), ExportFormat.Hf);
        File.Delete(Path.Combine(path, SafeTensors.SingleFile));
        File.WriteAllBytes(Path.Combine(path, ModelFiles.OnnxDataFile), new byte[4096]);
        string graph = Path.Combine(Path.GetFullPath(path), ModelFiles.OnnxGraphFile);
        HarnessException missing = Assert.Throws<HarnessException>(() => ModelFiles.Load(path));
        AssertOneSentence(missing, graph);
        Assert.Contains(ModelFiles.OnnxDataFile, missing.Message);

        File.WriteAllText(graph, "this is not a protobuf, but it is long enough to be read");
        AssertOneSentence(Assert.Throws<HarnessException>(() => ModelFiles.Load(path)), graph);

        File.WriteAllBytes(graph, [0x08, 0x08, .. new byte[64]]);
        DecoderConfig c = ModelFiles.Load(path);
        Assert.Equal(graph, c.OnnxGraph);
        AssertOneSentence(Assert.Throws<HarnessException>(() => ModelWeights.Open(c, 1)), path);
    }

    [Fact]
    public void A_missing_shard_is_bad_input_naming_it()
    {
        string path = Export(ModelCatalog.Load("tiny-llama-test"), ExportFormat.Hf, maxShardBytes: 100_000);
        string shard = Directory.GetFiles(path, "*.safetensors").Order().Last();
        File.Delete(shard);
        AssertOneSentence(Assert.Throws<HarnessException>(() => ModelFiles.Load(path)), Path.GetFileName(shard));
    }

    [Fact]
    public void A_truncated_safetensors_file_is_bad_input_naming_it()
    {
        string path = Export(ModelCatalog.Load("tiny-llama-test"), ExportFormat.Hf);
        string file = Path.Combine(path, SafeTensors.SingleFile);
        using (var s = new FileStream(file, FileMode.Open))
        {
            s.SetLength(s.Length - 100);
        }

        HarnessException e = Assert.Throws<HarnessException>(() => ModelFiles.Load(path));
        AssertOneSentence(e, file);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void A_safetensors_header_that_lies_about_a_tensor_size_is_bad_input()
    {
        string path = Export(ModelCatalog.Load("tiny-llama-test"), ExportFormat.Hf);
        string file = Path.Combine(path, SafeTensors.SingleFile);
        byte[] bytes = File.ReadAllBytes(file);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        string header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        // The first tensor's shape grows by one row: its byte range no longer fits it.
        string lie = header.Replace("\"shape\":[256,64]", "\"shape\":[257,64]", StringComparison.Ordinal);
        Assert.NotEqual(header, lie);
        Encoding.UTF8.GetBytes(lie).CopyTo(bytes, 8);
        File.WriteAllBytes(file, bytes);
        HarnessException e = Assert.Throws<HarnessException>(() => ModelFiles.Load(path));
        AssertOneSentence(e, file);
        Assert.Contains("[257,64]", e.Message);
    }

    [Fact]
    public void A_truncated_gguf_file_is_bad_input_naming_it()
    {
        string path = Export(ModelCatalog.Load("tiny-llama-test"), ExportFormat.Gguf);
        using (var s = new FileStream(path, FileMode.Open))
        {
            s.SetLength(s.Length / 2);
        }

        AssertOneSentence(Assert.Throws<HarnessException>(() => ModelFiles.Load(path)), path);
        using (var s = new FileStream(path, FileMode.Open))
        {
            s.SetLength(1000);
        }

        AssertOneSentence(Assert.Throws<HarnessException>(() => ModelFiles.Load(path)), path);
    }

    [Fact]
    public void An_unknown_architecture_is_refused_by_name()
    {
        string path = Export(ModelCatalog.Load("tiny-llama-test"), ExportFormat.Hf);
        string config = Path.Combine(path, HfConfig.FileName);
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"llama\"", "\"mamba\"", StringComparison.Ordinal));
        HarnessException e = Assert.Throws<HarnessException>(() => ModelFiles.Load(path));
        AssertOneSentence(e, config);
        Assert.Contains("mamba", e.Message);

        string gguf = Export(ModelCatalog.Load("tiny-llama-test"), ExportFormat.Gguf);
        byte[] bytes = File.ReadAllBytes(gguf);
        int at = IndexOf(bytes, "general.architecture"u8) + "general.architecture".Length + 4 + 8;
        "mamba"u8.CopyTo(bytes.AsSpan(at));
        File.WriteAllBytes(gguf, bytes);
        e = Assert.Throws<HarnessException>(() => ModelFiles.Load(gguf));
        AssertOneSentence(e, gguf);
        Assert.Contains("mamba", e.Message);
    }

    [Fact]
    public void An_unknown_tensor_type_is_refused_by_name()
    {
        string gguf = Export(ModelCatalog.Load("tiny-llama-test"), ExportFormat.Gguf);
        byte[] bytes = File.ReadAllBytes(gguf);
        // Tensor info: name, n_dims (u32), ne (2 x u64), type (u32), offset (u64).
        int at = IndexOf(bytes, "token_embd.weight"u8) + "token_embd.weight".Length + 4 + 16;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), 10); // q2_K
        File.WriteAllBytes(gguf, bytes);
        HarnessException e = Assert.Throws<HarnessException>(() => ModelFiles.Load(gguf));
        AssertOneSentence(e, gguf);
        Assert.Contains("ggml type 10", e.Message);

        string hf = Export(ModelCatalog.Load("tiny-llama-test"), ExportFormat.Hf);
        string file = Path.Combine(hf, SafeTensors.SingleFile);
        bytes = File.ReadAllBytes(file);
        at = IndexOf(bytes, "\"F32\""u8);
        "\"I32\""u8.CopyTo(bytes.AsSpan(at));
        File.WriteAllBytes(file, bytes);
        e = Assert.Throws<HarnessException>(() => ModelFiles.Load(hf));
        AssertOneSentence(e, file);
        Assert.Contains("I32", e.Message);
    }

    [Fact]
    public void A_tokenizer_past_the_embedding_is_bad_input()
    {
        string path = Export(ModelCatalog.Load("tiny-llama-test"), ExportFormat.Hf);
        string tokenizer = Path.Combine(path, ModelFiles.TokenizerFile);
        JsonNode tok = JsonNode.Parse(File.ReadAllText(tokenizer))!;
        tok["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = 256, ["content"] = "<|extra|>", ["special"] = true });
        File.WriteAllText(tokenizer, tok.ToJsonString());
        HarnessException e = Assert.Throws<HarnessException>(() => ModelFiles.Load(path));
        AssertOneSentence(e, tokenizer);
        Assert.Contains("256", e.Message);
    }

    [Fact]
    public void A_gguf_vocabulary_larger_than_the_embedding_is_bad_input()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test");
        string path = Path.Combine(_dir, "big-vocab.gguf");
        var spec = WeightLayout.For(c)[0];
        Gguf.Write(
            path,
            [new("general.architecture", "llama"), new("tokenizer.ggml.tokens", Enumerable.Range(0, 300).Select(i => $"t{i}").ToArray())],
            [new TensorToWrite("token_embd.weight", [c.Vocab, c.Hidden], TensorElement.F32, () => new float[spec.Elements])]);
        HarnessException e = Assert.Throws<HarnessException>(() => ModelFiles.Load(path));
        AssertOneSentence(e, path);
        Assert.Contains("300 tokens", e.Message);
    }

    [Fact]
    public void A_model_path_that_is_neither_kind_is_one_sentence()
    {
        AssertOneSentence(Assert.Throws<HarnessException>(() => ModelFiles.Load(_dir)), _dir);
        AssertOneSentence(Assert.Throws<HarnessException>(() => ModelCatalog.Load(Path.Combine(_dir, "none.gguf"))), "none.gguf");
    }

    [Fact]
    public void The_result_names_the_model_its_files_and_its_weights()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-gpt2-test");
        string path = Export(c, ExportFormat.Hf);
        DecoderConfig back = ModelFiles.Load(path);
        Dictionary<string, object?> details = GenerateSettings.DescribeModel(back, TensorDType.Float32, 1);
        Assert.Equal(Path.GetFullPath(path), details[Harness.Metrics.ConfigKeys.ModelSource]);
        Assert.Equal("hf", details[Harness.Metrics.ConfigKeys.ModelFormat]);
        Assert.Equal("f32", details[Harness.Metrics.ConfigKeys.ModelWeightsDtypes]);
        Assert.Equal(64, ((string)details[Harness.Metrics.ConfigKeys.ModelConfigSha256]!).Length);
        Assert.NotNull(details[Harness.Metrics.ConfigKeys.ModelTokenizerSha256]);
        Assert.False(details.ContainsKey(Harness.Metrics.ConfigKeys.WeightSeed));
        Assert.Equal(new DecoderCost(c).ParameterCount, details[Harness.Metrics.ConfigKeys.Parameters]);
        string fingerprint = (string)details[Harness.Metrics.ConfigKeys.ModelWeightsFingerprint]!;

        // Other weights, another fingerprint.
        string other = Export(c, ExportFormat.Hf, seed: 99);
        Assert.NotEqual(fingerprint, ModelFiles.WeightsFingerprint(other));
    }

    [Fact]
    public void The_exported_tokenizer_is_read_back_from_either_format_and_round_trips_text()
    {
        const string text = "Hello world, the harness's model tokenizer: naïve café 1234!";
        DecoderConfig c = Shrink(ModelCatalog.Load("qwen2.5-0.5b")) with { QkvBias = false };
        var ids = new List<IReadOnlyList<int>>();
        foreach (ExportFormat format in new[] { ExportFormat.Hf, ExportFormat.Gguf })
        {
            (Harness.Tokenization.TextTokenizer? t, string note) = ModelTokenizer.For(ModelFiles.Load(Export(c, format)));
            Assert.True(t is not null, note);
            Assert.Equal(c.Vocab, t.VocabularySize);
            Assert.Equal(c.Vocab - 1, t.EndOfText);
            IReadOnlyList<int> encoded = t.Encode(text);
            Assert.All(encoded, id => Assert.InRange(id, 0, c.Vocab - 1));
            Assert.True(encoded.Count < text.Length, "merges shorten the text");
            Assert.Equal(text, t.Decode(encoded));
            ids.Add(encoded);
        }

        Assert.Equal(ids[0], ids[1]);
    }

    [Fact]
    public void At_gpt2_size_the_model_tokenizer_is_gpt2s()
    {
        const string text = "GPT-2 sized vocabularies tokenize as GPT-2 does, <|endoftext|> included.";
        DecoderConfig c = Shrink(ModelCatalog.Load("qwen2.5-0.5b")) with { Vocab = 50257 };
        (Harness.Tokenization.TextTokenizer? t, string note) = ModelTokenizer.For(ModelFiles.Load(Export(c, ExportFormat.Gguf)));
        Assert.True(t is not null, note);
        Assert.Equal(Harness.Tokenization.TextTokenizer.Gpt2.Encode(text), t.Encode(text));
        Assert.Equal(50256, t.EndOfText);
    }

    [Fact]
    public void An_exported_sentencepiece_tokenizer_is_read_back_from_either_format_and_round_trips_text()
    {
        const string text = "Hello world, the harness's SentencePiece tokenizer: naïve café 1234!\n  two spaces <s> in text";
        DecoderConfig c = Shrink(ModelCatalog.Load("tiny-llama-test")) with { Vocab = 1000 };
        var ids = new List<IReadOnlyList<int>>();
        foreach (ExportFormat format in new[] { ExportFormat.Hf, ExportFormat.Gguf })
        {
            DecoderConfig back = ModelFiles.Load(Export(c, format, tokenizer: ExportTokenizer.Spm));
            (Harness.Tokenization.TextTokenizer? t, string note) = ModelTokenizer.For(back);
            Assert.True(t is not null, note);
            Assert.Contains("SentencePiece", t.Kind);
            Assert.Equal(c.Vocab, t.VocabularySize);
            Assert.Equal((2, 1, true), (t.EndOfText, t.BeginOfText, t.AddBeginOfText));
            IReadOnlyList<int> encoded = t.Encode(text);
            Assert.All(encoded, id => Assert.InRange(id, 0, c.Vocab - 1));
            Assert.True(encoded.Count < text.Length, "pieces shorten the text");
            Assert.Contains(1, encoded); // "<s>" written in the text is the token
            Assert.Equal(text, t.Decode(encoded));
            ids.Add(encoded);
            Dictionary<string, object?> details = GenerateSettings.DescribeModel(back, TensorDType.Float32, 1);
            Assert.Contains("SentencePiece", (string)details[Harness.Metrics.ConfigKeys.ModelTokenizer]!);
        }

        // The tokenizer.json's merges (by rank) give what the GGUF file's scores give.
        Assert.Equal(ids[0], ids[1]);
    }

    [Fact]
    public void A_metaspace_tokenizer_json_reads_as_the_normalizer_one_does()
    {
        const string text = "Hello world, naïve café — tokens!";
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test") with { Vocab = 700 };
        string path = Export(c, ExportFormat.Hf, tokenizer: ExportTokenizer.Spm);
        (Harness.Tokenization.TextTokenizer? legacy, _) = ModelTokenizer.Read(path);
        string file = Path.Combine(path, ModelFiles.TokenizerFile);
        JsonNode tok = JsonNode.Parse(File.ReadAllText(file))!;
        // Newer files (Mistral, TinyLlama): no normalizer, a Metaspace pre-tokenizer that prepends "▁" and does not split.
        tok["normalizer"] = null;
        tok["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = false,
        };
        File.WriteAllText(file, tok.ToJsonString());
        (Harness.Tokenization.TextTokenizer? metaspace, string note) = ModelTokenizer.Read(path);
        Assert.True(metaspace is not null, note);
        Assert.Equal(legacy!.Encode(text), metaspace.Encode(text));
        Assert.Equal(text, metaspace.Decode(metaspace.Encode(text)));
    }

    [Fact]
    public void The_sentencepiece_gguf_and_folder_carry_llama_s_tokenizer_metadata()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test") with { Vocab = 400 };
        using (GgufFile g = Gguf.Open(Export(c, ExportFormat.Gguf, tokenizer: ExportTokenizer.Spm)))
        {
            Assert.Equal("llama", g.Text("tokenizer.ggml.model"));
            Assert.Equal(c.Vocab, g.Array("tokenizer.ggml.scores")!.Length);
            Assert.Equal("<0x41>", g.Array("tokenizer.ggml.tokens")![3 + 0x41]);
            Assert.Equal(6L, g.Array("tokenizer.ggml.token_type")![3]);
            Assert.Equal(1L, g.Integer("tokenizer.ggml.bos_token_id"));
        }

        string folder = Export(c, ExportFormat.Hf, tokenizer: ExportTokenizer.Spm);
        JsonNode tok = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, ModelFiles.TokenizerFile)))!;
        Assert.True(tok["model"]!["byte_fallback"]!.GetValue<bool>());
        Assert.Equal(c.Vocab, tok["model"]!["vocab"]!.AsObject().Count);
        JsonNode gc = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, ModelFiles.GenerationConfigFile)))!;
        Assert.Equal(2, gc["eos_token_id"]!.GetValue<int>());
        HarnessException e = Assert.Throws<HarnessException>(
            () => Export(ModelCatalog.Load("tiny-llama-test"), ExportFormat.Gguf, name: "small.gguf", tokenizer: ExportTokenizer.Spm));
        Assert.Contains("259", e.Message);
    }

    [Fact]
    public void A_sentencepiece_tokenizer_past_the_embedding_is_bad_input()
    {
        string path = Export(ModelCatalog.Load("tiny-llama-test") with { Vocab = 300 }, ExportFormat.Hf, tokenizer: ExportTokenizer.Spm);
        string tokenizer = Path.Combine(path, ModelFiles.TokenizerFile);
        JsonNode tok = JsonNode.Parse(File.ReadAllText(tokenizer))!;
        tok["model"]!["vocab"]!["▁extra"] = 300;
        File.WriteAllText(tokenizer, tok.ToJsonString());
        HarnessException e = Assert.Throws<HarnessException>(() => ModelFiles.Load(path));
        AssertOneSentence(e, tokenizer);
        Assert.Contains("300", e.Message);
    }

    [Fact]
    public void A_llama3_style_tokenizer_json_splits_with_its_regex()
    {
        DecoderConfig c = Shrink(ModelCatalog.Load("qwen2.5-0.5b")) with { QkvBias = false, Vocab = 2000 };
        string path = Export(c, ExportFormat.Hf);
        string file = Path.Combine(path, ModelFiles.TokenizerFile);
        JsonNode tok = JsonNode.Parse(File.ReadAllText(file))!;
        tok["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject
                {
                    ["type"] = "Split",
                    ["pattern"] = new JsonObject { ["Regex"] = Harness.Tokenization.SplitPatterns.Llama3 },
                    ["behavior"] = "Isolated",
                    ["invert"] = false,
                },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
        };
        File.WriteAllText(file, tok.ToJsonString());
        (Harness.Tokenization.TextTokenizer? t, string note) = ModelTokenizer.For(ModelFiles.Load(path));
        Assert.True(t is not null, note);
        Assert.Contains("regex", t.Kind);
        const string text = "Year 1234567, it's done.";
        Assert.Equal(text, t.Decode(t.Encode(text)));
        // No token crosses the cut after 123 or after 456.
        string[] digits = t.Encode(text).Select(id => t.Decode([id])).Where(p => p.Any(char.IsDigit)).ToArray();
        Assert.Equal("1234567", string.Concat(digits));
        Assert.Contains(3, digits.Select((_, i) => digits.Take(i + 1).Sum(p => p.Length)));
    }

    [Theory]
    [InlineData("llama-bpe", true)]
    [InlineData("qwen2", true)]
    [InlineData("gpt-2", true)]
    [InlineData("tekken-unknown", false)]
    public void A_gguf_gpt2_vocabulary_splits_as_its_pre_tokenizer_names_or_is_refused_by_name(string pre, bool read)
    {
        var vocab = Harness.Tokenization.ByteLevelVocabulary.ForSize(1000);
        string path = Path.Combine(_dir, $"pre-{pre}.gguf");
        Gguf.Write(
            path,
            [
                new("general.architecture", "llama"),
                new("tokenizer.ggml.model", "gpt2"),
                new("tokenizer.ggml.pre", pre),
                new("tokenizer.ggml.tokens", vocab.Tokens.ToArray()),
                new("tokenizer.ggml.token_type", vocab.Tokens.Select((_, i) => i < vocab.RegularTokens ? 1 : 3).ToArray()),
                new("tokenizer.ggml.eos_token_id", (uint)vocab.EndOfText!.Value),
            ],
            []);
        (Harness.Tokenization.TextTokenizer? t, string note) = ModelTokenizer.Read(path);
        Assert.Equal(read, t is not null);
        Assert.Contains(pre, note);
        if (t is not null)
        {
            Assert.Contains(pre, t.Kind);
            const string text = "Year 1234567, it's done.";
            Assert.Equal(text, t.Decode(t.Encode(text)));
        }
    }

    private static DecoderConfig Shrink(DecoderConfig c) =>
        c.Hidden <= 64 ? c : c with { Hidden = 32, Heads = 2, KvHeads = 1, Intermediate = 48, Layers = 1, Vocab = 300, MaxPositions = 64 };

    private string Export(
        DecoderConfig c,
        ExportFormat format,
        TensorDType dtype = TensorDType.Float32,
        long maxShardBytes = long.MaxValue,
        string? name = null,
        int seed = Seed,
        ExportTokenizer tokenizer = ExportTokenizer.Gpt2)
    {
        string suffix = format == ExportFormat.Gguf ? ".gguf" : "";
        string path = Path.Combine(_dir, name ?? $"{c.Name}-{seed}-{format}-{dtype.ShortName()}-{maxShardBytes}-{tokenizer}{suffix}");
        using var gen = new WeightGenerator(seed, c.Layers);
        ModelExport.Write(c, dtype, format, path, gen, maxShardBytes, tokenizer: tokenizer);
        return path;
    }

    private static void AssertSameWeights(DecoderConfig c, DecoderConfig back)
    {
        using var gen = new WeightGenerator(Seed, c.Layers);
        using IWeightSource read = ModelWeights.Open(back, 0);
        foreach (WeightSpec spec in WeightLayout.For(c))
        {
            Assert.Equal(gen.Generate(spec), read.Generate(spec));
        }
    }

    private static void AssertOneSentence(HarnessException e, string names)
    {
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(names, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static int IndexOf(byte[] bytes, ReadOnlySpan<byte> what)
    {
        int at = bytes.AsSpan().IndexOf(what);
        Assert.True(at >= 0);
        return at;
    }
}
