using System.Text.Json;
using Harness.Backends;
using Harness.Metrics;
using Harness.Models;
using Harness.Results;

namespace Harness.Projection;

/// <summary>
/// Imports <see cref="LlmRunFacts"/> from a result another tool wrote in the harness's shape (a
/// decode proxy, a hand-made file): its names vary, so each figure is taken from the first of its
/// aliases present. Metrics ttft_ms and tpot_ms; the extras output_tokens_per_s,
/// prefill_tokens_per_s, mfu, mbu and the GPU's power (gpu_power_w, gpu_power_w_mean,
/// avg_gpu_power_w); the config keys batch (batch_size), prompt_tokens (prompt_len, input_tokens),
/// new_tokens (max_new_tokens, output_tokens), dtype, kv_dtype (kv_cache_dtype), params (parameters,
/// n_params), flops_per_token, bytes_per_decode_step, tp (tensor_parallel) and model_config (an
/// object with Hugging Face or GPT-2 style names, or the name of a models/ config, used when
/// model_shape_hash still matches it). Used only for files the harness did not write
/// (<see cref="IsForeign"/>); the harness's own are read typed (<see cref="LlmResultReader"/>).
/// </summary>
public static class ForeignResultImporter
{
    private static readonly string[] LayerKeys = ["num_hidden_layers", "n_layer", "n_layers", "num_layers", "layers"];
    private static readonly string[] HiddenKeys = ["hidden_size", "n_embd", "d_model", "hidden", "dim"];
    private static readonly string[] HeadKeys = ["num_attention_heads", "n_head", "n_heads", "heads"];
    private static readonly string[] KvHeadKeys = ["num_key_value_heads", "n_kv_heads", "n_kv_head", "kv_heads"];

    /// <summary>
    /// Whether <paramref name="doc"/> was written by another tool: the harness always records its
    /// own version (1.0.0+commit), a decode proxy writes "proxy", a hand-made file nothing.
    /// </summary>
    public static bool IsForeign(ResultDocument doc) =>
        !Version.TryParse(doc.HarnessVersion.Split('+')[0], out _);

    public static LlmRunFacts Import(ResultDocument doc, string origin)
    {
        ResultMetrics m = doc.Metrics;
        if (m.TtftMs is null || m.TpotMs is null)
        {
            throw HarnessException.BadInput(
                $"Result {origin} has no ttft_ms and tpot_ms: projection needs an LLM decode result (docs/capacity.md lists the fields).");
        }

        Dictionary<string, object?> c = doc.Config;
        var missing = new List<string>();
        int Required(params string[] keys)
        {
            if (DocumentValues.FirstNumber(c, keys) is { } v && v >= 1)
            {
                return (int)v;
            }

            missing.Add(keys[0]);
            return 0;
        }

        int batch = Required(ConfigKeys.Batch, "batch_size");
        int prompt = Required(ConfigKeys.PromptTokens, "prompt_len", "input_tokens");
        int newTokens = Required(ConfigKeys.NewTokens, "max_new_tokens", "output_tokens");
        if (missing.Count > 0)
        {
            throw HarnessException.BadInput(
                $"Result {origin} lacks config {string.Join(", ", missing)}; projection needs batch, prompt_tokens and new_tokens.");
        }

        JsonElement? modelConfig = DocumentValues.AsElement(c.GetValueOrDefault(ConfigKeys.ModelConfig));
        ModelShape? shape = modelConfig is { ValueKind: JsonValueKind.Object } mc ? ReadShape(mc) : null;
        double? param = DocumentValues.FirstNumber(c, "params", ConfigKeys.Parameters, "n_params")
            ?? (modelConfig is { ValueKind: JsonValueKind.Object } mc2
                ? DocumentValues.FirstNumber(mc2, "params", "n_params", "num_parameters")
                : null);
        double? flops = DocumentValues.FirstNumber(c, MetricCatalog.FlopsPerToken.Key);
        double? bytes = DocumentValues.FirstNumber(c, MetricCatalog.BytesPerDecodeStep.Key);
        DecoderConfig? named = LlmResultReader.NamedModel(
            modelConfig is { ValueKind: JsonValueKind.Object } ? null : DocumentValues.Text(c.GetValueOrDefault(ConfigKeys.ModelConfig)),
            DocumentValues.Text(c.GetValueOrDefault(ConfigKeys.ModelShapeHash)));
        param ??= named is null ? null : new DecoderCost(named).ParameterCount;
        if (param is null && (flops is null || bytes is null))
        {
            throw HarnessException.BadInput(
                $"Result {origin} lacks config params (or both flops_per_token and bytes_per_decode_step); "
                + "projection needs the model's size.");
        }

        string? modelName = DocumentValues.Text(c.GetValueOrDefault(ConfigKeys.Model))
            ?? DocumentValues.Text(c.GetValueOrDefault(ConfigKeys.ModelConfig))
            ?? (modelConfig is { ValueKind: JsonValueKind.Object } mc3 && mc3.TryGetProperty("name", out JsonElement n)
                ? n.GetString()
                : null);
        return new LlmRunFacts
        {
            Origin = origin,
            Workload = doc.Workload,
            ModelName = modelName,
            GpuName = doc.Hardware?.Gpus.FirstOrDefault()?.Name,
            CudaGraph = LlmResultReader.CudaGraph(doc),
            TensorParallel = (int)(DocumentValues.FirstNumber(c, "tp", "tensor_parallel") ?? 1),
            Dtype = DocumentValues.Text(c.GetValueOrDefault(ConfigKeys.Dtype)) ?? "bf16",
            KvDtype = DocumentValues.Text(c.GetValueOrDefault(ConfigKeys.KvDtype))
                ?? DocumentValues.Text(c.GetValueOrDefault("kv_cache_dtype")),
            Model = named,
            Batch = batch,
            PromptTokens = prompt,
            NewTokens = newTokens,
            Params = param,
            FlopsPerToken = flops,
            BytesPerDecodeStep = bytes,
            Shape = shape ?? (named is null ? null : ModelShape.Of(named)),
            Ttft = LatencyFacts.From(m.TtftMs),
            Tpot = LatencyFacts.From(m.TpotMs),
            OutputTokensPerS = DocumentValues.ExtraNumber(m, MetricCatalog.OutputTokensPerS.Key)
                ?? (m.ThroughputUnit == "tokens" && m.ThroughputPerS > 0 ? m.ThroughputPerS : null),
            PrefillTokensPerS = DocumentValues.ExtraNumber(m, MetricCatalog.PrefillTokensPerS.Key),
            Mfu = DocumentValues.ExtraNumber(m, MetricCatalog.Mfu.Key),
            Mbu = DocumentValues.ExtraNumber(m, MetricCatalog.Mbu.Key),
            // The harness's own runs write the backend device's power as metrics.avg_power_w (NVML on CUDA).
            AvgGpuPowerW = DocumentValues.ExtraNumber(m, "gpu_power_w", "gpu_power_w_mean", "avg_gpu_power_w")
                ?? (doc.Backend.Contains(":cuda", StringComparison.Ordinal) ? m.AvgPowerW : null),
        };
    }

    private static ModelShape? ReadShape(JsonElement mc)
    {
        if (DocumentValues.FirstNumber(mc, LayerKeys) is not { } layers
            || DocumentValues.FirstNumber(mc, HiddenKeys) is not { } hidden
            || DocumentValues.FirstNumber(mc, HeadKeys) is not { } heads)
        {
            return null;
        }

        double kvHeads = DocumentValues.FirstNumber(mc, KvHeadKeys) ?? heads;
        double headDim = DocumentValues.FirstNumber(mc, "head_dim") ?? hidden / heads;
        return new ModelShape((int)layers, (int)hidden, (int)heads, (int)kvHeads, (int)headDim);
    }
}
