using Harness.Hardware;
using Harness.Hardware.Catalog;
using Harness.Measurement;
using Harness.Results;

namespace Harness.Tests.Projection;

/// <summary>
/// Result documents of LLM decode runs built in memory, with latencies computed from a known truth
/// (so that a projection's answer is known), in the shape the decoder workloads write.
/// </summary>
internal static class SyntheticRuns
{
    public const string H100 = "NVIDIA H100 80GB HBM3";
    public const string H200 = "NVIDIA H200";

    /// <summary>A Llama-like shape: 8 KV heads of 128, 4096 wide, layers as given.</summary>
    public static Dictionary<string, object?> LlamaConfig(int layers = 32, int hidden = 4096, int heads = 32, int kvHeads = 8) => new()
    {
        ["name"] = "synthetic",
        ["num_hidden_layers"] = layers,
        ["hidden_size"] = hidden,
        ["num_attention_heads"] = heads,
        ["num_key_value_heads"] = kvHeads,
    };

    public static ResultDocument Llm(
        string gpuName,
        double ttftMs,
        double tpotMs,
        double parameters = 8e9,
        int batch = 8,
        int prompt = 512,
        int newTokens = 64,
        int tp = 1,
        double? tokensPerS = null,
        double? powerW = null,
        Dictionary<string, object?>? modelConfig = null,
        string backend = "torch:cuda")
    {
        var extra = new Dictionary<string, object?>
        {
            ["output_tokens_per_s"] = tokensPerS ?? batch * newTokens / ((ttftMs + (newTokens - 1) * tpotMs) / 1000),
        };
        if (powerW is { } w)
        {
            extra["gpu_power_w"] = w;
        }

        return new ResultDocument
        {
            Workload = "decoder",
            Backend = backend,
            Scenario = "single",
            Valid = true,
            Config = new Dictionary<string, object?>
            {
                ["model"] = "synthetic",
                ["model_config"] = modelConfig ?? LlamaConfig(),
                ["batch"] = batch,
                ["prompt_tokens"] = prompt,
                ["new_tokens"] = newTokens,
                ["dtype"] = "bf16",
                ["params"] = parameters,
                ["tp"] = tp,
            },
            Hardware = Fingerprint(gpuName),
            Metrics = new ResultMetrics
            {
                RequestsOk = 100,
                ThroughputUnit = "tokens",
                ThroughputPerS = (double)extra["output_tokens_per_s"]!,
                TtftMs = Distribution(ttftMs),
                TpotMs = Distribution(tpotMs),
                Extra = extra,
            },
        };
    }

    /// <summary>A distribution around a median: a 2% median CI and a 10% p99 tail.</summary>
    public static DistributionSummary Distribution(double p50) => new()
    {
        Count = 100,
        P50 = p50,
        P90 = p50 * 1.05,
        P95 = p50 * 1.07,
        P99 = p50 * 1.1,
        P999 = p50 * 1.2,
        Mean = p50 * 1.01,
        Min = p50 * 0.95,
        Max = p50 * 1.2,
        MedianCiLow = p50 * 0.99,
        MedianCiHigh = p50 * 1.01,
    };

    public static HardwareFingerprint Fingerprint(string? gpuName, string cpuModel = "Test CPU", int cores = 16) => new()
    {
        Cpu = new CpuInfo(cpuModel, cores, []),
        MemoryBytes = 0,
        Os = "test",
        Kernel = "test",
        Glibc = null,
        Dotnet = "test",
        Hostname = "test",
        Packages = new Dictionary<string, string?>(),
        Gpus = gpuName is null ? [] : [new GpuInfo(0, gpuName, null, "580", 80_000_000_000, 700)],
    };

    /// <summary>Decode step time of a bandwidth-bound pass at a share of the card's copy ceiling.</summary>
    public static double DecodeMs(string card, double bytes, double shareOfCeiling) =>
        bytes / (HardwareCatalog.Default.Get(card).MeasuredBandwidth!.Value * shareOfCeiling) * 1000;

    /// <summary>Prefill time of a compute-bound pass at a share of the card's matrix-product ceiling.</summary>
    public static double PrefillMs(string card, double flops, double shareOfCeiling) =>
        flops / (HardwareCatalog.Default.Get(card).MeasuredFlops("bf16")!.Value * shareOfCeiling) * 1000;
}
