using System.Globalization;
using System.Text;
using Harness.Formatting;
using static System.FormattableString;
using static Harness.Formatting.MarkdownColumn;

namespace Harness.Projection;

/// <summary>The terminal (Markdown) view of a projection.</summary>
public static class ProjectionReport
{
    public static string Render(ProjectionResult p, string? path = null)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        ProjectionSource s = p.Source;
        ProjectionPrecision pr = p.Precision;
        string model = p.Target.Model is { } other ? $" as {other}" : "";
        sb.Append(c, $"### {s.Model ?? s.Workload ?? "run"}: {s.Card} (TP {s.TensorParallel}, batch {s.Batch}, {Kind(pr.Run, pr.RunKvCache)}) projected to {p.Target.Card}{model} ({Layout(p)}, batch {p.Target.Batch}, {Kind(pr.Target, pr.TargetKvCache)})\n\n");
        ProjectionAnswer a = p.Answer;
        sb.Append(c, $"Answer ({a.Name}): {a.Label}, {a.Rule}.\n\n");
        sb.Append(c, $"Precision: {(pr.Changed ? $"changed from {Kind(pr.Run, pr.RunKvCache)} to {Kind(pr.Target, pr.TargetKvCache)}" : $"unchanged, {Kind(pr.Run, pr.RunKvCache)}")}; {pr.Rule}.\n\n");
        var table = new MarkdownTable(Left("metric"), Right("measured"), Right("projected (low-high)"));
        ProjectedMetrics m = p.Metrics;
        table.Row("TTFT p50 ms", Invariant($"{s.TtftMsP50:0.###}"), m.TtftMs.Format("0.###"));
        table.Row("TPOT p50 ms", Invariant($"{s.TpotMsP50:0.###}"), m.TpotMs.Format("0.###"));
        foreach ((string pct, ProjectedLatency lat) in p.Percentiles)
        {
            table.Row($"TTFT {pct} ms", "", lat.TtftMs.Format("0.###"));
            table.Row($"TPOT {pct} ms", "", lat.TpotMs.Format("0.###"));
        }

        table.Row("output tok/s", s.OutputTokensPerS is { } t ? t.ToString("#,0.#", c) : "", m.OutputTokensPerS.Format("#,0.#"));
        table.Row("output tok/s per GPU", "", m.OutputTokensPerSPerGpu.Format("#,0.#"));
        table.Row("prefill MFU", "", m.Mfu.Format("0.###"));
        table.Row("decode MBU", "", m.Mbu.Format("0.###"));
        if (p.Target.TensorParallel > 1)
        {
            table.Row("all-reduce per decode step ms", "", m.AllReduceMsPerStep.Format("0.###"));
        }

        if (p.Collectives is { } cm && cm.AllToAllMs > 0)
        {
            table.Row("all-to-all (EP) per decode step ms", "", Invariant($"{cm.AllToAllMs:0.###}"));
        }

        if (p.Collectives is { } pc && pc.PipelineMs > 0)
        {
            table.Row("pipeline hops per decode step ms", "", Invariant($"{pc.PipelineMs:0.###}"));
        }

        if (m.JPerToken is { } j)
        {
            table.Row("J/token", "", j.Format("0.####"));
        }

        if (m.UsdPerMtok is { } usd && p.Price is { } price)
        {
            table.Row(Invariant($"$/Mtok ({price.Instance}, {price.Value:0.####} {price.Unit}, {price.Date})"), "", usd.Format("0.####"));
        }

        table.AppendTo(sb);

        PhaseCalibration pre = p.Calibration.Prefill, dec = p.Calibration.Decode;
        sb.Append(c, $"\nCalibration ({p.Calibration.ComputeBasis}; {p.Calibration.BandwidthBasis}): ");
        sb.Append(c, $"prefill {pre.Bound}-bound at {pre.EfficiencyOfCeiling.Format("0.##")} of the compute ceiling, ");
        sb.Append(c, $"decode {dec.Bound}-bound at {dec.EfficiencyOfCeiling.Format("0.##")} of the bandwidth ceiling, host overhead {dec.HostOverheadMs.Format("0.###")} ms per step.\n");
        sb.Append(c, $"Memory per GPU: {p.Memory.PerGpuGb:0.#} GB of {p.Memory.UsableGb:0.#} GB usable (weights {p.Memory.WeightsGb:0.#} GB, KV cache {p.Memory.KvCacheGb:0.#} GB).\n");
        foreach ((string source, string heading) in new[] { ("measured", "Measured"), ("published", "Published"), ("catalog", "From the catalog"), ("assumed", "Assumed") })
        {
            var items = p.Basis.Where(b => b.Source == source).ToList();
            if (items.Count > 0)
            {
                sb.Append(c, $"\n{heading}:\n");
                foreach (BasisItem item in items)
                {
                    sb.Append(c, $"- {item.Part}: {item.Detail}\n");
                }
            }
        }

        if (p.Notes.Count > 0)
        {
            sb.Append('\n');
        }

        foreach (string note in p.Notes)
        {
            sb.Append(c, $"- {note}\n");
        }

        if (path is not null)
        {
            sb.Append(c, $"\nProjection: {path}\n");
        }

        return sb.ToString();
    }

    private static string Kind(string weights, string kv) => weights == kv ? weights : $"{weights}, KV {kv}";

    private static string Layout(ProjectionResult p)
    {
        ProjectionTarget t = p.Target;
        string layout = new Parallelism(t.TensorParallel, t.ExpertParallel, t.PipelineParallel).Label;
        return t.Gpus > 1 && t.Domain is not null ? Invariant($"{layout}, {t.Gpus} GPUs, {t.Domain} domain of {t.DomainGpus}") : layout;
    }
}
