using Harness.Backends;
using Harness.Engine;
using Harness.Measurement;
using Harness.Metrics;

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
        var list = new List<DerivedMetric>();
        double? ttft = DistributionSummary.From(run.TimeToFirstToken)?.Mean / 1000.0;
        double? tpot = DistributionSummary.From(run.TimePerOutputToken)?.Mean / 1000.0;
        double context = DecoderCost.MeanDecodeContext(s.PromptTokens, s.NewTokens);
        double weightBytes = s.StoredBytesPerWeight ?? DecoderCost.MatrixBytesPerWeight(s.DType, s.Quantization);
        double stepBytes = cost.DecodeStepBytes(batch, Math.Round(context), weightBytes, s.DType.Bytes());
        double prefillFlops = batch * cost.PrefillFlops(s.PromptTokens);
        double stepFlops = batch * cost.FlopsPerToken((long)Math.Round(context));

        double? prefillRate = ttft is > 0 ? prefillFlops / ttft : null;
        double? decodeFlopRate = tpot is > 0 ? stepFlops / tpot : null;
        double? decodeByteRate = tpot is > 0 ? stepBytes / tpot : null;

        list.Add(new(MetricCatalog.PrefillTokensPerS, ttft is > 0 ? batch * (double)s.PromptTokens / ttft : null));
        list.Add(new(MetricCatalog.OutputTokensPerS, run.WindowSeconds > 0 ? run.OutputUnits / run.WindowSeconds : null));
        list.Add(new(MetricCatalog.DecodeTokensPerS, tpot is > 0 ? batch / tpot : null));
        list.Add(new(MetricCatalog.FlopsPerToken, cost.FlopsPerToken((long)Math.Round(context)), "at the mean decode context"));
        list.Add(new(MetricCatalog.PrefillFlops, prefillFlops, "times batch"));
        list.Add(new(MetricCatalog.BytesPerDecodeStep, stepBytes));
        list.Add(new(MetricCatalog.PrefillFlopsPerS, prefillRate));
        list.Add(new(MetricCatalog.DecodeFlopsPerS, decodeFlopRate));
        list.Add(new(MetricCatalog.DecodeBytesPerS, decodeByteRate));

        string peakNote = catalog is null ? "no catalog peak for this device" : $"{catalog.Device}, {catalog.Source}";
        list.Add(new(MetricCatalog.Mfu, Ratio(prefillRate, catalog?.FlopsPerS), $"at {s.DType.ShortName()}; {peakNote}"));
        list.Add(new(MetricCatalog.MfuDecode, Ratio(decodeFlopRate, catalog?.FlopsPerS), peakNote));
        list.Add(new(MetricCatalog.Mbu, Ratio(decodeByteRate, catalog?.BytesPerS), peakNote));
        string measuredNote = measured?.Source ?? "no gemm/copy result given (--set ceilings=FILE,...)";
        list.Add(new(MetricCatalog.MfuMeasured, Ratio(prefillRate, measured?.FlopsPerS), measuredNote));
        list.Add(new(MetricCatalog.MbuMeasured, Ratio(decodeByteRate, measured?.BytesPerS), measuredNote));
        list.Add(new(MetricCatalog.PeakFlopsPerS, catalog?.FlopsPerS, peakNote));
        list.Add(new(MetricCatalog.PeakBytesPerS, catalog?.BytesPerS, peakNote));
        list.Add(new(MetricCatalog.MeasuredFlopsPerS, measured?.FlopsPerS, measuredNote));
        list.Add(new(MetricCatalog.MeasuredBytesPerS, measured?.BytesPerS, measuredNote));
        return list;
    }

    private static double? Ratio(double? achieved, double? peak) => achieved is { } a && peak is > 0 ? a / peak : null;
}
