using Harness.Backends;
using Harness.Metrics;
using Harness.Models;
using Harness.Results;

namespace Harness.Projection;

/// <summary>
/// Reads <see cref="LlmRunFacts"/> from a result document. The harness's own results are read typed:
/// metrics ttft_ms, tpot_ms, output_tokens_per_s, prefill_tokens_per_s, mfu and mbu from the catalog,
/// the GPU's power as avg_power_w of a CUDA backend, and the config keys batch, prompt_tokens,
/// new_tokens, dtype, parameters, model and model_config (the name of a models/ config, used when
/// model_shape_hash still matches it). A result another tool wrote goes through
/// <see cref="ForeignResultImporter"/>, which knows the other names.
/// </summary>
public static class LlmResultReader
{
    public static LlmRunFacts Read(ResultDocument doc, string origin)
    {
        if (ForeignResultImporter.IsForeign(doc))
        {
            return ForeignResultImporter.Import(doc, origin);
        }

        ResultMetrics m = doc.Metrics;
        if (m.TtftMs is null || m.TpotMs is null)
        {
            throw HarnessException.BadInput($"Result {origin} has no ttft_ms and tpot_ms: projection needs an LLM decode result (docs/capacity.md lists the fields).");
        }

        var missing = new List<string>();
        int Required(string key)
        {
            if (doc.ConfigInt(key) is { } v && v >= 1)
            {
                return v;
            }

            missing.Add(key);
            return 0;
        }

        int batch = Required(ConfigKeys.Batch);
        int prompt = Required(ConfigKeys.PromptTokens);
        int newTokens = Required(ConfigKeys.NewTokens);
        if (missing.Count > 0)
        {
            throw HarnessException.BadInput($"Result {origin} lacks config {string.Join(", ", missing)}; projection needs batch, prompt_tokens and new_tokens.");
        }

        string? modelConfig = doc.ConfigText(ConfigKeys.ModelConfig);
        // A model read from files is found again at its path (--model PATH), a seeded one by its models/ name.
        DecoderConfig? named = NamedModel(doc.ConfigText(ConfigKeys.ModelSource) ?? modelConfig, doc.ConfigText(ConfigKeys.ModelShapeHash));
        double? param = doc.ConfigNumber(ConfigKeys.Parameters) ?? (named is null ? null : new DecoderCost(named).ParameterCount);
        if (param is null)
        {
            throw HarnessException.BadInput($"Result {origin} lacks config {ConfigKeys.Parameters}; projection needs the model's size.");
        }

        return new LlmRunFacts
        {
            Origin = origin,
            Workload = doc.Workload,
            ModelName = doc.ConfigText(ConfigKeys.Model) ?? modelConfig,
            GpuName = doc.Hardware?.Gpus.FirstOrDefault()?.Name,
            TensorParallel = 1,
            Dtype = doc.ConfigText(ConfigKeys.Dtype) ?? "bf16",
            KvDtype = doc.ConfigText(ConfigKeys.KvDtype),
            WeightOnly = doc.ConfigText(ConfigKeys.WeightQuantization) is not null,
            Model = named,
            CudaGraph = CudaGraph(doc),
            Batch = batch,
            PromptTokens = prompt,
            NewTokens = newTokens,
            Params = param,
            Shape = named is null ? null : ModelShape.Of(named),
            Ttft = LatencyFacts.From(m.TtftMs),
            Tpot = LatencyFacts.From(m.TpotMs),
            OutputTokensPerS = m.Value(MetricCatalog.OutputTokensPerS) ?? (m.ThroughputUnit == "tokens" && m.ThroughputPerS > 0 ? m.ThroughputPerS : null),
            PrefillTokensPerS = m.Value(MetricCatalog.PrefillTokensPerS),
            Mfu = m.Value(MetricCatalog.Mfu),
            Mbu = m.Value(MetricCatalog.Mbu),
            // The harness writes the backend device's power as metrics.avg_power_w (NVML on CUDA).
            AvgGpuPowerW = doc.Backend.Contains(":cuda", StringComparison.Ordinal) ? m.AvgPowerW : null,
        };
    }

    /// <summary>Config cuda_graph: true or 1.</summary>
    internal static bool CudaGraph(ResultDocument doc)
    {
        object? value = doc.Config.GetValueOrDefault(ConfigKeys.CudaGraph);
        return DocumentValues.AsElement(value) is { ValueKind: System.Text.Json.JsonValueKind.True } || DocumentValues.Number(value) is 1;
    }

    /// <summary>The models/ config a result names, when it is still there with the same shape (else the result's own figures are used).</summary>
    internal static DecoderConfig? NamedModel(string? name, string? shapeHash)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return null;
        }

        try
        {
            DecoderConfig config = ModelCatalog.Load(name);
            return shapeHash is null || shapeHash == config.ShapeHash() ? config : null;
        }
        catch (HarnessException)
        {
            return null;
        }
    }
}
