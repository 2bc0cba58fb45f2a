using Harness.Hardware.Catalog;

namespace Harness.Projection;

/// <summary>
/// One link a collective runs over, per GPU and one direction: bytes/s and the latency of one step.
/// <paramref name="Source"/> says where both figures come from (catalog or assumed).
/// </summary>
public sealed record Link(string Name, double BytesPerS, double StepLatencyS, string Source)
{
    /// <summary>
    /// The scale-up link (NVLink, xGMI, PCIe) inside one domain: its measured bandwidth where known, else
    /// <see cref="ProjectionPriors.LinkEfficiency"/> of the datasheet; the catalog's per-step latency, else the prior's.
    /// </summary>
    public static Link ScaleUp(HardwareSpec card, ProjectionPriors p)
    {
        double bandwidth = card.Measured?.ScaleUpGbps is { } measured
            ? measured.Value * 1e9
            : (card.ScaleUp?.BandwidthGbps?.Value ?? 0) * 1e9 * p.LinkEfficiency;
        if (!(bandwidth > 0))
        {
            throw HarnessException.BadInput(
                $"The catalog has no scale-up link bandwidth for {card.Id}; its GPUs cannot be projected together.");
        }

        double? latency = card.ScaleUp?.LatencyUs?.Value;
        string source = (card.Measured?.ScaleUpGbps is not null ? "measured bandwidth" : "catalog bandwidth")
            + (latency is null ? ", assumed latency" : ", catalog latency");
        return new Link(card.ScaleUp?.Name ?? "scale-up", bandwidth, (latency ?? p.ScaleUpStepLatencyUs) * 1e-6, source);
    }

    /// <summary>
    /// The network between domains (the NIC per GPU): the catalog's figures at <see cref="ProjectionPriors.LinkEfficiency"/>
    /// of the datasheet, else <see cref="ProjectionPriors.ScaleOutGbps"/> and <see cref="ProjectionPriors.ScaleOutStepLatencyUs"/>,
    /// assumed.
    /// </summary>
    public static Link ScaleOut(HardwareSpec card, ProjectionPriors p)
    {
        double? gbps = card.ScaleOut?.BandwidthGbps?.Value;
        double? latency = card.ScaleOut?.LatencyUs?.Value;
        string source = gbps is null ? "assumed bandwidth" : "catalog bandwidth";
        source += latency is null ? ", assumed latency" : ", catalog latency";
        return new Link(card.ScaleOut?.Name ?? "network (assumed 400 Gb/s per GPU)",
            (gbps ?? p.ScaleOutGbps) * 1e9 * p.LinkEfficiency, (latency ?? p.ScaleOutStepLatencyUs) * 1e-6, source);
    }
}

/// <summary>
/// Times of the collectives a parallel forward pass runs, seconds, in the alpha-beta model: each
/// step pays the link's latency, each byte its bandwidth.
/// </summary>
public static class Collectives
{
    /// <summary>
    /// Ring all-reduce of <paramref name="bytes"/> over <paramref name="gpus"/> GPUs: reduce-scatter then
    /// all-gather, 2 (n-1) steps each moving bytes / n: 2 (n-1)/n x bytes / bandwidth + 2 (n-1) x latency. 0 on one GPU.
    /// </summary>
    public static double RingAllReduce(double bytes, int gpus, Link link) =>
        gpus <= 1 ? 0 : 2.0 * (gpus - 1) / gpus * bytes / link.BytesPerS + 2.0 * (gpus - 1) * link.StepLatencyS;

    /// <summary>
    /// All-to-all in which each of <paramref name="gpus"/> GPUs holds <paramref name="bytesPerGpu"/> bytes
    /// spread evenly over all destinations: it sends (n-1)/n of them, in n-1 pairwise steps:
    /// (n-1)/n x bytes / bandwidth + (n-1) x latency. 0 on one GPU.
    /// </summary>
    public static double AllToAll(double bytesPerGpu, int gpus, Link link) =>
        gpus <= 1 ? 0 : (gpus - 1.0) / gpus * bytesPerGpu / link.BytesPerS + (gpus - 1) * link.StepLatencyS;

    /// <summary>One transfer of <paramref name="bytes"/> over one link: bytes / bandwidth + latency.</summary>
    public static double PointToPoint(double bytes, Link link) => bytes / link.BytesPerS + link.StepLatencyS;

    /// <summary>
    /// Stage-times a pipeline of <paramref name="stages"/> stages takes to push <paramref name="microbatches"/>
    /// microbatches through: m + s - 1 (the last microbatch enters after m - 1, then crosses s stages).
    /// </summary>
    public static int PipelineSlots(int stages, int microbatches) => microbatches + stages - 1;

    /// <summary>Idle share of a pipeline's stages over one pass: (s - 1) / (m + s - 1).</summary>
    public static double PipelineBubble(int stages, int microbatches) =>
        (stages - 1.0) / PipelineSlots(stages, microbatches);
}
