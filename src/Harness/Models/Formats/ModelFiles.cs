using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Harness.Backends;
using Harness.Metrics;

namespace Harness.Models.Formats;

/// <summary>
/// A user's model on disk (<c>--model PATH</c>): a Hugging Face folder (config.json, model.safetensors
/// or shards, tokenizer.json), an Optimum ONNX folder (model.onnx, config.json) or a GGUF file. <see cref="Load"/> reads its shape into a
/// <see cref="DecoderConfig"/> whose <see cref="DecoderConfig.WeightsPath"/> makes both backends read
/// the weights from it (<see cref="ModelWeights.Open"/>); nothing but headers and metadata is read here.
/// </summary>
public static class ModelFiles
{
    public const string TokenizerFile = "tokenizer.json";
    public const string TokenizerConfigFile = "tokenizer_config.json";
    public const string GenerationConfigFile = "generation_config.json";

    /// <summary>An Optimum folder's decoder graph (with past: past_key_values.N.key/value in, present.N.key/value out).</summary>
    public const string OnnxGraphFile = "model.onnx";

    /// <summary>The external data file of the graph <c>harness export --format onnx</c> writes (Optimum's name).</summary>
    public const string OnnxDataFile = "model.onnx_data";

    /// <summary>Whether a path names a model (a folder, or a .gguf file) rather than a models/ config.</summary>
    public static bool IsModelPath(string path) => Directory.Exists(path) || path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase);

    public static DecoderConfig Load(string path)
    {
        if (Directory.Exists(path))
        {
            if (IsOnnxFolder(path))
            {
                return ReadOnnxFolder(path);
            }

            DecoderConfig c = HfConfig.Read(path) with { WeightsPath = Path.GetFullPath(path) };
            CheckTokenizer(Path.Combine(path, TokenizerFile), c.Vocab);
            // The weights' headers now, so that a missing shard or a lying header is refused before anything is built.
            using (CheckpointWeights.Open(c, c.WeightsPath!))
            {
            }

            return c;
        }

        if (File.Exists(path))
        {
            return ReadGguf(Path.GetFullPath(path));
        }

        throw HarnessException.BadInput($"Model '{path}' does not exist; give a Hugging Face folder (with config.json), "
            + $"an ONNX decoder folder (with model.onnx) or a GGUF file.");
    }

    /// <summary>
    /// An ONNX decoder folder (Optimum's layout): it has model.onnx, or, without safetensors, another
    /// .onnx file or ONNX external data (a folder whose model.onnx is missing).
    /// </summary>
    public static bool IsOnnxFolder(string folder) =>
        File.Exists(Path.Combine(folder, OnnxGraphFile))
        || (!Directory.EnumerateFiles(folder, "*.safetensors").Any() && Directory.EnumerateFiles(folder).Any(IsOnnxFile));

    /// <summary>
    /// An Optimum folder: the shape from its config.json, the graph model.onnx that the ONNX backend
    /// runs as it is (its inputs and outputs are checked by name when the session opens); torch:* reads
    /// its initializers where the harness wrote them (<see cref="OnnxInitializers"/>).
    /// </summary>
    private static DecoderConfig ReadOnnxFolder(string folder)
    {
        string graph = Path.GetFullPath(Path.Combine(folder, OnnxGraphFile));
        if (!File.Exists(graph))
        {
            string found = Path.GetFileName(Directory.EnumerateFiles(folder).First(IsOnnxFile));
            throw HarnessException.BadInput($"Model folder '{folder}' holds ONNX files ({found}) but no {OnnxGraphFile} ({graph}), "
                + $"the decoder graph the harness runs.");
        }

        // A ModelProto starts with field 1 (ir_version, a varint: tag 0x08) or, from some writers, another field's tag.
        using (FileStream s = File.OpenRead(graph))
        {
            int first = s.ReadByte();
            if (s.Length < 16 || first is not (0x08 or 0x12 or 0x1a or 0x22 or 0x2a or 0x32 or 0x3a or 0x42))
            {
                throw HarnessException.BadInput($"Model file '{graph}' is not an ONNX model (too short, or not a protobuf ModelProto).");
            }
        }

        DecoderConfig c = HfConfig.Read(folder) with { WeightsPath = Path.GetFullPath(folder), OnnxGraph = graph };
        CheckTokenizer(Path.Combine(folder, TokenizerFile), c.Vocab);
        return c;
    }

    private static bool IsOnnxFile(string file) =>
        file.EndsWith(".onnx", StringComparison.Ordinal) || file.EndsWith(".onnx_data", StringComparison.Ordinal)
        || file.EndsWith(".onnx.data", StringComparison.Ordinal);

    private static DecoderConfig ReadGguf(string path)
    {
        using GgufFile g = Gguf.Open(path);
        string arch = g.Architecture;
        if (arch is not ("llama" or "qwen2" or "gpt2"))
        {
            throw HarnessException.BadInput($"Model file '{path}' is GGUF architecture '{arch}'; the harness builds llama, qwen2 and "
                + $"gpt2.");
        }

        int Int(string key, int? fallback = null) => g.Integer($"{arch}.{key}") is { } v ? (int)v
            : fallback ?? throw HarnessException.BadInput($"Model file '{path}' has no {arch}.{key}.");
        // GGUF keeps these as f32: read back as the shortest decimal of the float (1e-5, not 9.99999974738e-06).
        double Real(string key, double fallback) => g.Real($"{arch}.{key}") is { } v
            ? double.Parse(((float)v).ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)
            : fallback;
        if (g.Text($"{arch}.rope.scaling.type") is { } scaling && scaling != "none")
        {
            throw HarnessException.BadInput($"Model file '{path}' has rope scaling '{scaling}', which the harness's decoders do not "
                + $"build.");
        }

        bool hasBias = g.Tensors.Tensors.ContainsKey("blk.0.attn_q.bias");
        if (arch == "llama" && hasBias)
        {
            throw HarnessException.BadInput($"Model file '{path}' is a llama GGUF with q/k/v biases, which the harness reads as qwen2 "
                + $"only.");
        }

        if (!g.Tensors.Tensors.TryGetValue("token_embd.weight", out CheckpointTensor? embed) || embed.Shape.Length != 2)
        {
            throw HarnessException.BadInput($"Model file '{path}' has no 2-D token_embd.weight.");
        }

        if (g.Array("tokenizer.ggml.tokens") is { } tokens && tokens.Length > embed.Shape[0])
        {
            throw HarnessException.BadInput(
                $"Model file '{path}' has a vocabulary of {tokens.Length} tokens but an embedding of {embed.Shape[0]} rows.");
        }

        int heads = Int("attention.head_count");
        bool gpt2 = arch == "gpt2";
        var c = new DecoderConfig
        {
            Name = Path.GetFileNameWithoutExtension(path),
            Architecture = gpt2 ? DecoderArchitecture.Gpt2 : DecoderArchitecture.Llama,
            Hidden = Int("embedding_length"),
            Intermediate = Int("feed_forward_length"),
            Layers = Int("block_count"),
            Heads = heads,
            KvHeads = gpt2 ? heads : Int("attention.head_count_kv", heads),
            Vocab = (int)embed.Shape[0],
            MaxPositions = Int("context_length"),
            RopeTheta = Real("rope.freq_base", 10000),
            NormEps = gpt2 ? Real("attention.layer_norm_epsilon", 1e-5) : Real("attention.layer_norm_rms_epsilon", 1e-5),
            TieEmbeddings = !g.Tensors.Tensors.ContainsKey("output.weight"),
            QkvBias = gpt2 || hasBias,
            Source = $"GGUF {arch} file {path}",
            Path = path,
            WeightsPath = path,
        };
        c.Validate();
        if (g.Integer($"{arch}.rope.dimension_count") is { } rotary && !gpt2 && rotary != c.HeadDim)
        {
            throw HarnessException.BadInput($"Model file '{path}' rotates {rotary} of each head's {c.HeadDim} dimensions; the harness "
                + $"rotates all.");
        }

        using (CheckpointWeights.Open(c, path))
        {
        }

        return c;
    }

    /// <summary>A tokenizer.json whose ids reach past the embedding is bad input.</summary>
    private static void CheckTokenizer(string tokenizer, int vocab)
    {
        if (!File.Exists(tokenizer))
        {
            return;
        }

        int max = -1;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(tokenizer));
            if (doc.RootElement.TryGetProperty("model", out JsonElement model) && model.TryGetProperty("vocab", out JsonElement v)
                && v.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty p in v.EnumerateObject())
                {
                    max = Math.Max(max, p.Value.GetInt32());
                }
            }

            if (doc.RootElement.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement a in added.EnumerateArray())
                {
                    max = Math.Max(max, a.GetProperty("id").GetInt32());
                }
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw HarnessException.BadInput($"Tokenizer file '{tokenizer}' is not valid: {e.Message}", e);
        }

        if (max >= vocab)
        {
            throw HarnessException.BadInput($"Tokenizer file '{tokenizer}' has token id {max}, past the model's embedding of {vocab} "
                + $"rows.");
        }
    }

    /// <summary>
    /// A cheap fingerprint of the weights: SHA-256 over each weights file's name, size and 16 blocks of
    /// 64 KiB spread through it (the whole file when smaller); 16 hex digits.
    /// </summary>
    public static string WeightsFingerprint(string path)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        foreach (string file in WeightFiles(path))
        {
            using var s = File.OpenRead(file);
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes($"{Path.GetFileName(file)}:{s.Length};"));
            const int samples = 16;
            long step = Math.Max(buffer.Length, s.Length / samples);
            for (long at = 0; at < s.Length; at += step)
            {
                s.Position = at;
                int n = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                hash.AppendData(buffer, 0, n);
            }
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    /// <summary>The files that hold the weights: the GGUF file, the safetensors files, or an ONNX folder's graph and data.</summary>
    public static IReadOnlyList<string> WeightFiles(string path) =>
        File.Exists(path) ? [path]
        : Directory.EnumerateFiles(path).Where(f => f.EndsWith(".safetensors", StringComparison.Ordinal) || IsOnnxFile(f))
            .Order(StringComparer.Ordinal).ToList();

    /// <summary>
    /// The mean bytes per weight of a GGUF file's tensors as stored (q4_0: 18 bytes per 32 weights), blocks and
    /// scales included.
    /// </summary>
    public static double StoredBytesPerWeight(string ggufPath)
    {
        using GgufFile g = Gguf.Open(ggufPath);
        long weights = g.Tensors.Tensors.Values.Sum(t => t.Elements);
        long bytes = g.Tensors.Tensors.Values.Sum(t => t.Element.ByteCount(t.Elements));
        return weights == 0 ? 0 : (double)bytes / weights;
    }

    /// <summary>Facts for the result about a model read from files: where, which files (hashes), what weights.</summary>
    public static void Describe(DecoderConfig c, Dictionary<string, object?> details)
    {
        if (c.WeightsPath is not { } path)
        {
            return;
        }

        bool gguf = File.Exists(path);
        details[ConfigKeys.ModelSource] = path;
        details[ConfigKeys.ModelFormat] = gguf ? "gguf" : c.OnnxGraph is null ? "hf" : "onnx";
        IReadOnlyList<string> files = WeightFiles(path);
        details[ConfigKeys.ModelWeightsBytes] = files.Sum(f => new FileInfo(f).Length);
        details[ConfigKeys.ModelWeightsFingerprint] = WeightsFingerprint(path);
        if (!gguf)
        {
            details[ConfigKeys.ModelConfigSha256] = Sha256(Path.Combine(path, HfConfig.FileName));
            details[ConfigKeys.ModelTokenizerSha256] = Sha256(Path.Combine(path, TokenizerFile));
        }

        (Tokenization.TextTokenizer? tokenizer, string note) = ModelTokenizer.For(c);
        details[ConfigKeys.ModelTokenizer] = tokenizer is null ? $"none run ({note})" : $"{tokenizer.Kind}: {note}";
        if (c.OnnxGraph is { } graph)
        {
            // onnx:* runs the graph as it is (its decoder says so); torch:* reads the canonical initializers (OnnxInitializers).
            details[ConfigKeys.Weights] = $"the initializers of the ONNX decoder graph {graph}";
            details[ConfigKeys.ModelWeightsDtypes] = string.Join(", ", OnnxInitializers.WeightTypes(graph));
            return;
        }

        details[ConfigKeys.Weights] = $"read from {(gguf ? "GGUF file" : "Hugging Face folder")} {path}";
        IReadOnlyList<TensorElement> elements;
        using (CheckpointWeights w = CheckpointWeights.Open(c, path))
        {
            elements = w.Elements;
        }

        details[ConfigKeys.ModelWeightsDtypes] = string.Join(", ", elements.Select(e => e.Name()));
        if (elements.Any(e => e.IsQuantized()))
        {
            details[ConfigKeys.ModelDequantized] = "quantized tensors dequantized to the run's dtype when loaded (no quantized kernels)";
        }
    }

    /// <summary>
    /// Where a quantized run's blocks come from, in words: the seeded weights quantized when the graph is
    /// built; or, for each type of a file's matrices, what <see cref="CheckpointWeights.Describe"/> says
    /// (q4_0 / q8_0 blocks repacked as they are, q4_K's requantized once at load, q6_K's as 8-bit blocks
    /// of 16, other weights dequantized and requantized, or quantized, once at load).
    /// </summary>
    public static string QuantizationSource(DecoderConfig c, WeightQuantization q)
    {
        if (c.WeightsPath is not { } path)
        {
            return "the seeded fp32 weights quantized by the harness when the graph is built " + (q.Float8
                ? "(scale max|w| / 448 per block, e4m3 to nearest even)"
                : "(llama.cpp's q4_0/q8_0 rounding)");
        }

        List<TensorElement> matrices;
        using (CheckpointWeights w = CheckpointWeights.Open(c, path))
        {
            matrices = w.MatrixElements().Distinct().Order().ToList();
        }

        return "the file's " + string.Join("; ", matrices.Select(e => matrices.Count == 1
            ? CheckpointWeights.Describe(e, q)
            : $"{e.Name()} matrices: {CheckpointWeights.Describe(e, q)}"));
    }

    /// <summary>
    /// The mean bytes per weight of a GGUF file's matrices as MatMulNBits holds them under <paramref name="q"/>
    /// (<see cref="CheckpointWeights.BytesPerWeight"/>: q4_K with its zero points, q6_K in blocks of 16), weighted by their sizes;
    /// the quantization's own bytes for any other model.
    /// </summary>
    public static double MappedBytesPerWeight(DecoderConfig c, WeightQuantization q, int scaleBits)
    {
        if (c.WeightsPath is not { } path || !File.Exists(path))
        {
            return q.BytesPerWeight(scaleBits);
        }

        using CheckpointWeights w = CheckpointWeights.Open(c, path);
        List<CheckpointTensor> matrices = w.MatrixTensors().ToList();
        long weights = matrices.Sum(t => t.Elements);
        return weights == 0 ? q.BytesPerWeight(scaleBits)
            : matrices.Sum(t => t.Elements * CheckpointWeights.BytesPerWeight(t.Element, q, scaleBits)) / weights;
    }

    /// <summary>
    /// The weight-only quantization a GGUF file's matrices run as stored when no <c>--dtype</c> is given (as llama.cpp
    /// runs them): int4 where any is q4_0 or q4_K, else int8 where any is q8_0 or q6_K, with the <c>--set</c> keys'
    /// accuracy level (block 32); null for any other model (float matrices, a Hugging Face or ONNX folder, seeded weights).
    /// </summary>
    public static WeightQuantization? StoredQuantization(DecoderConfig c, IReadOnlyDictionary<string, string> settings)
    {
        if (c.WeightsPath is not { } path || c.OnnxGraph is not null || !File.Exists(path))
        {
            return null;
        }

        HashSet<TensorElement> matrices;
        using (CheckpointWeights w = CheckpointWeights.Open(c, path))
        {
            matrices = w.MatrixElements().ToHashSet();
        }

        int? bits = matrices.Overlaps([TensorElement.Q4Zero, TensorElement.Q4K]) ? 4
            : matrices.Overlaps([TensorElement.Q8Zero, TensorElement.Q6K]) ? 8
            : null;
        return bits is { } b ? WeightQuantization.From(b, settings) with { AsStored = true } : null;
    }

    private static string? Sha256(string file) =>
        File.Exists(file) ? Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))) : null;
}
