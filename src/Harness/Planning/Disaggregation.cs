using System.Globalization;
using Harness.Engine;
using Harness.Hardware.Catalog;
using Harness.Projection;
using static System.FormattableString;

namespace Harness.Planning;

/// <summary>
/// Disaggregated serving on one card type: a prefill pool and a decode pool, each at its own layout and
/// batch (xPyD: x prefill replicas, y decode replicas), the prompt's KV cache sent from one to the other.
/// Prefill replicas run only prefills: a batch of B prompts takes TTFT (the projection's), and the user's
/// first token also waits for the batch's KV to cross, so the TTFT objectives bind prefill + transfer. Decode
/// replicas run only decode steps at their batch: the TPOT objectives bind them. For a target of R output
/// tokens/s: y = ceil(R / (B_d x 1000 / TPOT_d)) and, at R / new tokens requests/s, x = ceil(requests/s x
/// TTFT_p / B_p). The KV goes over the scale-up domain when a prefill and a decode replica fit in one, else
/// over the network.
/// </summary>
public static class Disaggregation
{
    /// <summary>
    /// KV bytes of one request's prompt crossing from prefill to decode, and the time a batch of them takes when each of
    /// the prefill replica's GPUs sends its share over its own link: batch x bytes / GPUs / bandwidth + latency.
    /// </summary>
    public static double TransferSeconds(double kvBytesPerRequest, int batch, int prefillGpus, Link link) =>
        Collectives.PointToPoint(batch * kvBytesPerRequest / Math.Max(1, prefillGpus), link);

    public static DisaggregatedPlan? Plan(
        PlanRequest r, HardwareSpec card, LlmWorkModel work, IReadOnlyList<ProjectionResult> tried, CardPlan? aggregated)
    {
        var ttftSlos = r.Slos.Where(s => s.Metric == "ttft").ToList();
        var tpotSlos = r.Slos.Where(s => s.Metric == "tpot").ToList();
        double kvBytes = work.KvBytes(r.Workload.PromptTokens);
        int domain = Math.Max(1, card.DomainGpus);

        (ProjectionResult P, double TransferS, Link Link, double RequestsPerS)? prefill = null;
        // The decode pool is chosen after; its smallest replica decides whether the KV can stay in the domain.
        int minDecodeGpus = MinDecodeGpus(tried, tpotSlos);
        foreach (ProjectionResult p in tried)
        {
            int gpus = p.Target.Gpus;
            Link link = gpus + minDecodeGpus <= domain ? Link.ScaleUp(card, r.Priors) : Link.ScaleOut(card, r.Priors);
            double transfer = TransferSeconds(kvBytes, p.Target.Batch, gpus, link);
            if (ttftSlos.Any(s => CapacityPlanner.Latency(p, s).Value + transfer * 1000 > s.LimitMs))
            {
                continue;
            }

            double requestsPerGpu = p.Target.Batch / (p.Metrics.TtftMs.Value / 1000) / gpus;
            if (prefill is null || requestsPerGpu > prefill.Value.RequestsPerS / prefill.Value.P.Target.Gpus)
            {
                prefill = (p, transfer, link, p.Target.Batch / (p.Metrics.TtftMs.Value / 1000));
            }
        }

        ProjectionResult? decode = tried
            .Where(p => tpotSlos.All(s => CapacityPlanner.Latency(p, s).Value <= s.LimitMs))
            .OrderByDescending(DecodeTokensPerGpu)
            .FirstOrDefault();
        if (prefill is not { } pre || decode is null)
        {
            return null;
        }

        // The link as the pair chosen: inside the domain when one prefill and one decode replica fit it.
        Link kvLink = pre.P.Target.Gpus + decode.Target.Gpus <= domain ? Link.ScaleUp(card, r.Priors) : Link.ScaleOut(card, r.Priors);
        double transferS = TransferSeconds(kvBytes, pre.P.Target.Batch, pre.P.Target.Gpus, kvLink);
        if (ttftSlos.Any(s => CapacityPlanner.Latency(pre.P, s).Value + transferS * 1000 > s.LimitMs))
        {
            kvLink = pre.Link;
            transferS = pre.TransferS;
        }

        double decodeRate = decode.Target.Batch * 1000 / decode.Metrics.TpotMs.Value;
        int y = (int)Math.Ceiling(r.TargetOutputTokensPerS / decodeRate);
        double requestsPerS = r.TargetOutputTokensPerS / r.Workload.NewTokens;
        int x = (int)Math.Ceiling(requestsPerS / pre.RequestsPerS);
        int gpusTotal = x * pre.P.Target.Gpus + y * decode.Target.Gpus;
        double perGpu = r.TargetOutputTokensPerS / gpusTotal;
        double? aggregatedGpus = aggregated?.Gpus.Value;
        double? gain = aggregatedGpus is { } a ? Math.Round((a / gpusTotal - 1) * 100, 1) : null;
        string verdict = gain switch
        {
            null => "only disaggregated serving meets the SLO on this card",
            > 0 => Invariant(
                $"disaggregation wins: {aggregatedGpus - gpusTotal:#,0} fewer GPUs ({gain:0.#}% more output tokens/s per GPU)"),
            < 0 => Invariant($"aggregated wins: disaggregation needs {gpusTotal - aggregatedGpus:#,0} more GPUs ")
                + Invariant($"({-gain:0.#}% fewer output tokens/s per GPU)"),
            _ => "a tie: the same GPUs either way",
        };
        var slo = new Dictionary<string, double>();
        foreach (ServiceLevelObjective s in r.Slos)
        {
            string key = $"{s.Metric}_{CapacityPlanner.Key(s)}";
            slo[key] = Math.Round(s.Metric == "ttft"
                ? CapacityPlanner.Latency(pre.P, s).Value + transferS * 1000
                : CapacityPlanner.Latency(decode, s).Value, 3);
        }

        return new DisaggregatedPlan(
            Pool(pre.P, x, pre.P.Metrics.TtftMs.Value, pre.RequestsPerS),
            Pool(decode, y, decode.Metrics.TpotMs.Value, decodeRate),
            Invariant($"{x}P{y}D"),
            Math.Round(kvBytes / 1e6, 3),
            Math.Round(transferS * 1000, 3),
            $"{kvLink.Name} ({(kvLink.BytesPerS / 1e9).ToString("0.#", CultureInfo.InvariantCulture)} GB/s per GPU, {kvLink.Source})",
            gpusTotal,
            Math.Round(perGpu, 1),
            aggregatedGpus,
            gain,
            verdict,
            slo);
    }

    private static double DecodeTokensPerGpu(ProjectionResult p) => p.Target.Batch * 1000 / p.Metrics.TpotMs.Value / p.Target.Gpus;

    private static int MinDecodeGpus(IReadOnlyList<ProjectionResult> tried, List<ServiceLevelObjective> tpot) =>
        tried.Where(p => tpot.All(s => CapacityPlanner.Latency(p, s).Value <= s.LimitMs))
            .Select(p => p.Target.Gpus).DefaultIfEmpty(1).Min();

    private static PoolPlan Pool(ProjectionResult p, int replicas, double latencyMs, double rate) =>
        new(CapacityPlanner.Layout(p), p.Target.Gpus, p.Target.Batch, replicas, replicas * p.Target.Gpus,
            Math.Round(latencyMs, 3), Math.Round(rate, 2));
}
