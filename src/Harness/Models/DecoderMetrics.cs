using Harness.Engine;
using Harness.Measurement;

namespace Harness.Models;

/// <summary>
/// The decoder metrics of a <c>generate</c> run, from the engine's TTFT/TPOT and the model's shape:
/// prefill and decode token rates, achieved FLOP/s and bytes/s, MFU and MBU against the catalog
/// peak and against the ceilings measured on this machine.
/// </summary>
public static class DecoderMetrics
{
    public static IReadOnlyList<DerivedMetric> Derive(EngineResult run, GenerateSettings s, int batch, PeakRates? catalog, PeakRates? measured)
    {
        var cost = new DecoderCost(s.Model);
        var defs = DecoderCost.Definitions;
        var list = new List<DerivedMetric>();
        double? ttft = DistributionSummary.From(run.TimeToFirstToken)?.Mean / 1000.0;
        double? tpot = DistributionSummary.From(run.TimePerOutputToken)?.Mean / 1000.0;
        double context = DecoderCost.MeanDecodeContext(s.PromptTokens, s.NewTokens);
        double stepBytes = cost.BytesPerDecodeStep(batch, (long)Math.Round(context), s.DType, s.DType);
        double prefillFlops = batch * cost.PrefillFlops(s.PromptTokens);
        double stepFlops = batch * cost.FlopsPerToken((long)Math.Round(context));

        double? prefillRate = ttft is > 0 ? prefillFlops / ttft : null;
        double? decodeFlopRate = tpot is > 0 ? stepFlops / tpot : null;
        double? decodeByteRate = tpot is > 0 ? stepBytes / tpot : null;

        list.Add(new("prefill_tokens_per_s", ttft is > 0 ? batch * (double)s.PromptTokens / ttft : null, defs["prefill_tokens_per_s"]));
        list.Add(new("output_tokens_per_s", run.WindowSeconds > 0 ? run.OutputUnits / run.WindowSeconds : null, defs["output_tokens_per_s"]));
        list.Add(new("decode_tokens_per_s", tpot is > 0 ? batch / tpot : null, defs["decode_tokens_per_s"]));
        list.Add(new("flops_per_token", cost.FlopsPerToken((long)Math.Round(context)), defs["flops_per_token"] + " (at the mean decode context)"));
        list.Add(new("prefill_flops", prefillFlops, defs["prefill_flops"] + ", times batch"));
        list.Add(new("bytes_per_decode_step", stepBytes, defs["bytes_per_decode_step"]));
        list.Add(new("prefill_flops_per_s", prefillRate, "batch x prefill_flops / mean TTFT"));
        list.Add(new("decode_flops_per_s", decodeFlopRate, "batch x flops_per_token / mean TPOT"));
        list.Add(new("decode_bytes_per_s", decodeByteRate, "bytes_per_decode_step / mean TPOT"));

        string peakNote = catalog is null ? "no catalog peak for this device" : $"{catalog.Device}, {catalog.Source}";
        list.Add(new("mfu", Ratio(prefillRate, catalog?.FlopsPerS), $"prefill MFU: prefill_flops_per_s / catalog peak FLOP/s at {s.DType.ShortName()} ({peakNote})"));
        list.Add(new("mfu_decode", Ratio(decodeFlopRate, catalog?.FlopsPerS), $"decode_flops_per_s / catalog peak FLOP/s ({peakNote})"));
        list.Add(new("mbu", Ratio(decodeByteRate, catalog?.BytesPerS), $"decode MBU: decode_bytes_per_s / catalog peak memory bandwidth ({peakNote})"));
        string measuredNote = measured?.Source ?? "no gemm/copy result given (--set ceilings=FILE,...)";
        list.Add(new("mfu_measured", Ratio(prefillRate, measured?.FlopsPerS), $"prefill_flops_per_s / measured GEMM FLOP/s ({measuredNote})"));
        list.Add(new("mbu_measured", Ratio(decodeByteRate, measured?.BytesPerS), $"decode_bytes_per_s / measured copy bandwidth, read + write ({measuredNote})"));
        list.Add(new("peak_flops_per_s", catalog?.FlopsPerS, $"catalog peak used for mfu ({peakNote})"));
        list.Add(new("peak_bytes_per_s", catalog?.BytesPerS, $"catalog peak used for mbu ({peakNote})"));
        list.Add(new("measured_flops_per_s", measured?.FlopsPerS, $"measured ceiling used for mfu_measured ({measuredNote})"));
        list.Add(new("measured_bytes_per_s", measured?.BytesPerS, $"measured ceiling used for mbu_measured ({measuredNote})"));
        return list;
    }

    private static double? Ratio(double? achieved, double? peak) => achieved is { } a && peak is > 0 ? a / peak : null;
}
