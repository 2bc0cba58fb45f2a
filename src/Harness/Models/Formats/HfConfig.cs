using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Harness.Backends;

namespace Harness.Models.Formats;

/// <summary>
/// A Hugging Face <c>config.json</c> to and from a <see cref="DecoderConfig"/>: model types llama,
/// mistral and qwen2 (RMSNorm, SwiGLU, rotary, grouped-query attention) and gpt2. Whatever the
/// harness's decoders do not build (another model type or activation, rope scaling, biases on the
/// output or MLP projections, sliding windows, a head width other than hidden / heads) is refused by name.
/// </summary>
public static class HfConfig
{
    public const string FileName = "config.json";

    public static readonly string[] ModelTypes = ["llama", "mistral", "qwen2", "gpt2"];

    public static DecoderConfig Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            throw HarnessException.BadInput($"Model folder '{folder}' has no {FileName}.");
        }

        JsonObject o;
        try
        {
            o = JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject ?? throw new JsonException("not a JSON object");
        }
        catch (JsonException e)
        {
            throw HarnessException.BadInput($"Model config '{path}' is not valid JSON: {e.Message}", e);
        }

        string type = Str(o, "model_type") ?? "";
        string Refuse(string what) => throw HarnessException.BadInput($"Model config '{path}' has {what}, which the harness's decoders do "
            + $"not build.");
        int Int(string key, int? fallback = null) => o[key] is JsonValue v && v.TryGetValue(out int n) ? n
            : fallback ?? throw HarnessException.BadInput($"Model config '{path}' has no integer {key}.");
        double Real(string key, double fallback) => o[key] is JsonValue v && v.TryGetValue(out double x) ? x : fallback;
        bool Flag(string key, bool fallback) => o[key] is JsonValue v && v.TryGetValue(out bool b) ? b : fallback;
        string name = Path.GetFileName(Path.GetFullPath(folder).TrimEnd('/'));
        DecoderConfig config;
        switch (type)
        {
            case "llama" or "mistral" or "qwen2":
                if ((Str(o, "hidden_act") ?? "silu") != "silu")
                {
                    Refuse($"hidden_act {Str(o, "hidden_act")}");
                }

                if (o["rope_scaling"] is JsonObject scaling)
                {
                    Refuse($"rope_scaling of type {Str(scaling, "rope_type") ?? Str(scaling, "type") ?? "unknown"}");
                }

                if (Flag("attention_bias", false) || Flag("mlp_bias", false))
                {
                    Refuse("attention_bias or mlp_bias (biases on the output and MLP projections)");
                }

                int hidden = Int("hidden_size"), heads = Int("num_attention_heads"), positions = Int("max_position_embeddings");
                if (o["head_dim"] is JsonValue hd && hd.TryGetValue(out int headDim) && headDim * heads != hidden)
                {
                    Refuse($"head_dim {headDim} other than hidden_size / num_attention_heads");
                }

                if (o["sliding_window"] is JsonValue sw && sw.TryGetValue(out int window) && window < positions
                    && Flag("use_sliding_window", type != "qwen2"))
                {
                    Refuse($"a sliding window of {window} tokens");
                }

                config = new DecoderConfig
                {
                    Name = name,
                    Architecture = DecoderArchitecture.Llama,
                    Hidden = hidden,
                    Intermediate = Int("intermediate_size"),
                    Layers = Int("num_hidden_layers"),
                    Heads = heads,
                    KvHeads = Int("num_key_value_heads", heads),
                    Vocab = Int("vocab_size"),
                    MaxPositions = positions,
                    RopeTheta = Real("rope_theta", 10000),
                    NormEps = Real("rms_norm_eps", 1e-6),
                    TieEmbeddings = Flag("tie_word_embeddings", false),
                    QkvBias = type == "qwen2",
                    Source = $"Hugging Face {type} folder {Path.GetFullPath(folder)}",
                };
                break;
            case "gpt2":
                if ((Str(o, "activation_function") ?? "gelu_new") is not ("gelu_new" or "gelu_pytorch_tanh"))
                {
                    Refuse($"activation_function {Str(o, "activation_function")}");
                }

                int d = Int("n_embd"), h = Int("n_head");
                config = new DecoderConfig
                {
                    Name = name,
                    Architecture = DecoderArchitecture.Gpt2,
                    Hidden = d,
                    Intermediate = o["n_inner"] is JsonValue ni && ni.TryGetValue(out int inner) ? inner : 4 * d,
                    Layers = Int("n_layer"),
                    Heads = h,
                    KvHeads = h,
                    Vocab = Int("vocab_size"),
                    MaxPositions = Int("n_positions", Int("n_ctx", 1024)),
                    NormEps = Real("layer_norm_epsilon", 1e-5),
                    TieEmbeddings = Flag("tie_word_embeddings", true),
                    QkvBias = true,
                    Source = $"Hugging Face gpt2 folder {Path.GetFullPath(folder)}",
                };
                break;
            default:
                throw HarnessException.BadInput(
                    $"Model config '{path}' is model_type '{type}'; the harness builds {string.Join(", ", ModelTypes)}.");
        }

        return (config with { Path = path }).Validate();
    }

    /// <summary>The config.json of a decoder: gpt2, qwen2 (llama with q/k/v biases) or llama.</summary>
    public static JsonObject Write(DecoderConfig c, TensorElement element, int? bos, int? eos)
    {
        string dtype = element switch
        {
            TensorElement.F16 => "float16",
            TensorElement.BF16 => "bfloat16",
            _ => "float32",
        };
        JsonObject o;
        if (c.Architecture == DecoderArchitecture.Gpt2)
        {
            o = new JsonObject
            {
                ["architectures"] = new JsonArray("GPT2LMHeadModel"),
                ["model_type"] = "gpt2",
                ["n_embd"] = c.Hidden,
                ["n_inner"] = c.Intermediate,
                ["n_layer"] = c.Layers,
                ["n_head"] = c.Heads,
                ["n_positions"] = c.MaxPositions,
                ["n_ctx"] = c.MaxPositions,
                ["vocab_size"] = c.Vocab,
                ["layer_norm_epsilon"] = c.NormEps,
                ["activation_function"] = "gelu_new",
                ["tie_word_embeddings"] = c.TieEmbeddings,
            };
        }
        else
        {
            bool qwen = c.QkvBias;
            o = new JsonObject
            {
                ["architectures"] = new JsonArray(qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"),
                ["model_type"] = qwen ? "qwen2" : "llama",
                ["hidden_size"] = c.Hidden,
                ["intermediate_size"] = c.Intermediate,
                ["num_hidden_layers"] = c.Layers,
                ["num_attention_heads"] = c.Heads,
                ["num_key_value_heads"] = c.KvHeads,
                ["head_dim"] = c.HeadDim,
                ["vocab_size"] = c.Vocab,
                ["max_position_embeddings"] = c.MaxPositions,
                ["rope_theta"] = c.RopeTheta,
                ["rms_norm_eps"] = c.NormEps,
                ["hidden_act"] = "silu",
                ["tie_word_embeddings"] = c.TieEmbeddings,
                ["rope_scaling"] = null,
            };
            if (qwen)
            {
                o["use_sliding_window"] = false;
            }
            else
            {
                o["attention_bias"] = false;
                o["mlp_bias"] = false;
            }
        }

        o["torch_dtype"] = dtype;
        if (bos is { } b)
        {
            o["bos_token_id"] = b;
        }

        if (eos is { } e)
        {
            o["eos_token_id"] = e;
        }

        o["harness_source"] = string.Create(CultureInfo.InvariantCulture, $"harness export of {c.Name} ({c.Source})");
        return o;
    }

    private static string? Str(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
