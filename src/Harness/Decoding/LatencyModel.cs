using System.Globalization;
using Harness.Metrics;
using Harness.Results;

namespace Harness.Decoding;

/// <summary>
/// The time an LLM device takes per iteration (forward pass), from given or measured numbers:
/// a decode step of b sequences = <see cref="TpotMs"/> + <see cref="TpotMsPerSequence"/> x (b - 1);
/// a pass that prefills n new tokens of joining sequences = <see cref="TtftMs"/> +
/// <see cref="PrefillMsPerToken"/> x n when nothing else runs, and when b sequences decode in the
/// same pass, the larger of <see cref="TtftMs"/> and the decode step of all b + joining sequences,
/// plus the same per-token term (the prefill rides on the decode pass, as in chunked prefill).
/// With the per-token and per-sequence terms at zero, a lone step's TTFT and TPOT equal the numbers
/// given, which is how a measured result is reproduced.
/// </summary>
public sealed record LatencyModel
{
    /// <summary>Fixed time of a prefill iteration (its whole time when no per-token rate is given).</summary>
    public required double TtftMs { get; init; }

    /// <summary>Time of a decode step of one sequence.</summary>
    public required double TpotMs { get; init; }

    public double PrefillMsPerToken { get; init; }

    public double TpotMsPerSequence { get; init; }

    /// <summary>Where the numbers come from, written into every result that uses them.</summary>
    public string Source { get; init; } = "given on the command line";

    /// <summary>
    /// Llama 1.1B shape (TinyLlama's) on one H100: 13.7 ms per decode step at batch 1, 14.6 at batch
    /// 64 (HF eager, bf16, cuDNN attention off); prefill at 0.0154 ms per token, scaled from 575k
    /// tokens/s for GPT-2 124M (bs 64 x 128, H200) by the 8.9x parameter ratio. Source:
    /// shared/device/README.md, measured 2026-11-26.
    /// </summary>
    public static LatencyModel H100Llama1B { get; } = new()
    {
        TtftMs = 13.7,
        TpotMs = 13.7,
        PrefillMsPerToken = 0.0154,
        TpotMsPerSequence = (14.6 - 13.7) / 63,
        Source = "H100, Llama 1.1B shape, HF eager bf16 with cuDNN SDPA off: 13.7 ms/step at bs 1, 14.6 at bs 64; prefill 0.0154 ms/token scaled from GPT-2's 575k tok/s by parameters (shared/device/README.md, 2026-11-26)",
    };

    /// <summary>GPT-2 124M on one H100: 5.98 ms per step at batch 1, 7.78 at 64; prefill 575k tokens/s (H200 figure).</summary>
    public static LatencyModel H100Gpt2 { get; } = new()
    {
        TtftMs = 5.98,
        TpotMs = 5.98,
        PrefillMsPerToken = 1000.0 / 575_000,
        TpotMsPerSequence = (7.78 - 5.98) / 63,
        Source = "H100, GPT-2 124M, HF eager bf16 with cuDNN SDPA off: 5.98 ms/step at bs 1, 7.78 at bs 64; prefill 575k tok/s (H200, bs 64 x 128) (shared/device/README.md, 2026-11-26)",
    };

    public double PrefillMs(int tokens) => TtftMs + (PrefillMsPerToken * tokens);

    public double DecodeMs(int sequences) => TpotMs + (TpotMsPerSequence * Math.Max(0, sequences - 1));

    /// <summary>One pass with <paramref name="joining"/> sequences bringing <paramref name="prefillTokens"/> new tokens and <paramref name="running"/> decoding.</summary>
    public double IterationMs(int joining, int prefillTokens, int running) =>
        joining == 0 ? DecodeMs(running)
        : running == 0 ? PrefillMs(prefillTokens)
        : Math.Max(TtftMs, DecodeMs(running + joining)) + (PrefillMsPerToken * prefillTokens);

    /// <summary>The time of one <see cref="IStepDecoder.Step"/> with these sequences.</summary>
    public double IterationMs(IReadOnlyList<DecodeSequence> joining, IReadOnlyList<DecodeSequence> running)
    {
        int tokens = 0;
        for (int i = 0; i < joining.Count; i++)
        {
            tokens += joining[i].PromptTokens;
        }

        return IterationMs(joining.Count, tokens, running.Count);
    }

    /// <summary>
    /// A model that reproduces a measured result: its TTFT p50 and TPOT p50. When a per-token prefill
    /// rate (or a per-sequence decode slope) is given too, the fixed parts are set so that a step of
    /// the measured shape (its batch and prompt tokens, from the result's config) takes exactly the
    /// measured times, and other shapes scale from there.
    /// </summary>
    public static LatencyModel FromResult(string path, double prefillMsPerToken = 0, double tpotMsPerSequence = 0)
    {
        ResultDocument doc = ResultReader.ReadDocument(path);
        double ttft = doc.Metrics.TtftMs?.P50 ?? throw HarnessException.BadInput($"Result file '{path}' has no ttft_ms: it is not the result of an LLM workload (e.g. generate).");
        double tpot = doc.Metrics.TpotMs?.P50 ?? throw HarnessException.BadInput($"Result file '{path}' has no tpot_ms: the workload generated fewer than two tokens per request.");
        int batch = doc.ConfigInt(ConfigKeys.Batch) ?? 1;
        int prompt = doc.ConfigInt(ConfigKeys.PromptTokens) ?? 0;
        if (prefillMsPerToken > 0 && prompt == 0)
        {
            throw HarnessException.BadInput($"Result file '{path}' does not say its prompt_tokens, so a prefill rate cannot be anchored to it; leave out the per-token rate.");
        }

        string gpu = doc.Hardware?.Gpus is { Count: > 0 } g ? g[0].Name : doc.Hardware?.Cpu.Model ?? "unknown hardware";
        return new LatencyModel
        {
            TtftMs = Math.Max(0, ttft - (prefillMsPerToken * batch * prompt)),
            TpotMs = Math.Max(0, tpot - (tpotMsPerSequence * (batch - 1))),
            PrefillMsPerToken = prefillMsPerToken,
            TpotMsPerSequence = tpotMsPerSequence,
            Source = string.Create(CultureInfo.InvariantCulture,
                $"result file {Path.GetFileName(path)}: {doc.Workload} on {doc.Backend} ({gpu}), ttft p50 {ttft:0.###} ms, tpot p50 {tpot:0.###} ms at batch {batch}, prompt {prompt} tokens"),
        };
    }

    public Dictionary<string, object?> Describe() => new()
    {
        [ConfigKeys.LlmTtftMs] = TtftMs,
        [ConfigKeys.LlmTpotMs] = TpotMs,
        [ConfigKeys.LlmPrefillMsPerToken] = PrefillMsPerToken,
        [ConfigKeys.LlmTpotMsPerSequence] = TpotMsPerSequence,
        [ConfigKeys.LlmSource] = Source,
        [ConfigKeys.LlmFormula] = "decode step of b = tpot + tpot_ms_per_sequence x (b - 1); a pass with joining sequences = ttft (alone) or max(ttft, decode step of all) (beside b decoding) + prefill_ms_per_token x their new tokens",
    };
}
