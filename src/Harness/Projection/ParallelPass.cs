using Harness.Hardware.Catalog;

namespace Harness.Projection;

/// <summary>
/// The collectives of one decode step on the target, milliseconds, and the links they run over.
/// </summary>
/// <param name="AllReduceMs">Tensor parallelism: ring all-reduces of the activations, two per dense layer, one per MoE layer under
/// EP.</param>
/// <param name="AllToAllMs">Expert parallelism: dispatch and combine all-to-alls, two per MoE layer.</param>
/// <param name="PipelineMs">Pipeline parallelism: the activations handed from stage to stage.</param>
public sealed record ProjectedCollectives(
    string Layout,
    int Gpus,
    string Domain,
    int DomainGpus,
    double AllReduceMs,
    double AllToAllMs,
    double PipelineMs,
    double PrefillCommMs,
    double PipelineBubble,
    string ScaleUpLink,
    string? PipelineLink);

/// <summary>
/// GPU work (seconds at the full ceilings) and collectives of one prefill and one decode pass of a
/// replica laid out by a <see cref="Parallelism"/>. A stage's GPU holds 1/PP of the layers: FLOPs / (Width x PP),
/// and bytes = (weights but routed experts / TP + routed experts / expert shards + KV / Width) / PP.
/// Decode keeps PP microbatches in flight (no bubble): a token crosses PP stages, so
/// TPOT = PP x stage time of B/PP sequences. Prefill pushes m = min(PP, B) microbatches through,
/// m + PP - 1 stage times (the bubble). At TP x 1 x 1 this is the single-group roofline.
/// </summary>
internal static class ParallelPass
{
    /// <summary>Bytes of one activation element on the wire (bf16).</summary>
    private const double ActivationBytes = 2;

    public static (double PrefillWork, double PrefillComm, double DecodeWork, double DecodeComm, ProjectedCollectives Comm) Of(
        LlmWorkModel work, double compute, double bandwidth, HardwareSpec card, Parallelism par, int batch, int promptTokens,
        ProjectionPriors p)
    {
        Link up = par.Gpus > 1 ? Link.ScaleUp(card, p) : new Link("none", 1, 0, "one GPU");
        Link? pipe = par.Pp > 1 ? (par.InOneDomain(card) ? up : Link.ScaleOut(card, p)) : null;
        int hidden = work.Shape?.Hidden ?? 0;

        // Decode: PP microbatches of B/PP sequences, one token each.
        int m = Math.Min(par.Pp, batch), micro = Math.Max(1, batch / m);
        double decodeStage = Stage(work.DecodeFlops(micro), work.DecodeBytes(micro), work.RoutedBytesAt(micro), work.DecodeKvBytes(micro));
        (double ar, double a2a) = StageComm(work, par, micro, up);
        double hop = pipe is null ? 0 : Collectives.PointToPoint(micro * (double)hidden * ActivationBytes, pipe);
        double decodeWork = par.Pp * decodeStage;
        double decodeComm = par.Pp * (ar + a2a + hop);

        // Prefill: m microbatches of B/m prompts through PP stages: m + PP - 1 stage times.
        int slots = Collectives.PipelineSlots(par.Pp, m);
        double tokens = micro * (double)promptTokens;
        double prefillStage = Stage(
            work.PrefillFlops(micro), work.PrefillBytes(micro), work.RoutedBytesAt(tokens), work.PrefillKvBytes(micro));
        (double par1, double par2) = StageComm(work, par, tokens, up);
        double prefillHop = pipe is null ? 0 : Collectives.PointToPoint(tokens * hidden * ActivationBytes, pipe);
        double prefillComm = slots * (par1 + par2) + (par.Pp - 1) * prefillHop;

        var comm = new ProjectedCollectives(
            par.Label, par.Gpus, card.ScaleUp?.Name ?? "none", Math.Max(1, card.DomainGpus),
            par.Pp * ar * 1000, par.Pp * a2a * 1000, par.Pp * hop * 1000, prefillComm * 1000,
            Collectives.PipelineBubble(par.Pp, m),
            par.Gpus > 1 ? $"{up.Name}: {up.BytesPerS / 1e9:0.#} GB/s, {up.StepLatencyS * 1e6:0.##} us a step ({up.Source})" : "none",
            pipe is null ? null : $"{pipe.Name}: {pipe.BytesPerS / 1e9:0.#} GB/s, {pipe.StepLatencyS * 1e6:0.##} us a step "
                + $"({pipe.Source})");
        return (slots * prefillStage, prefillComm, decodeWork, decodeComm, comm);

        double Stage(double flops, double bytes, double routed, double kv)
        {
            double shared = Math.Max(0, bytes - routed - kv);
            double perGpuBytes = shared / par.Tp + routed / par.ExpertShards + kv / par.Width;
            return Math.Max(flops / (par.Width * (double)par.Pp * compute), perGpuBytes / (par.Pp * bandwidth));
        }
    }

    /// <summary>
    /// Collectives of one stage's layers over <paramref name="tokens"/> tokens, seconds: the TP all-reduces of each
    /// attention group (its share of the tokens, TP / Width) and, under EP, two all-to-alls per MoE layer, each GPU
    /// sending its tokens' k routed copies.
    /// </summary>
    public static (double AllReduce, double AllToAll) StageComm(LlmWorkModel work, Parallelism par, double tokens, Link link)
    {
        if (work.Shape is not { } shape)
        {
            return (0, 0);
        }

        double layers = shape.Layers / (double)par.Pp, moe = work.MoeLayers / (double)par.Pp;
        double message = tokens * par.Tp / par.Width * shape.Hidden * ActivationBytes;
        double allReduces = layers + (layers - moe) + (par.Ep > 1 ? 0 : moe);
        double ar = allReduces * Collectives.RingAllReduce(message, par.Tp, link);
        double a2a = par.Ep > 1
            ? moe * 2 * Collectives.AllToAll(tokens / par.Width * work.ExpertsPerToken * shape.Hidden * ActivationBytes, par.Ep, link)
            : 0;
        return (ar, a2a);
    }
}
