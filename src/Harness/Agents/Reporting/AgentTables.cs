using System.Globalization;
using System.Text;

namespace Harness.Agents.Reporting;

/// <summary>The agent tables printed on the terminal (Markdown, with a bar chart of the busy fraction).</summary>
public static class AgentTables
{
    private const int BarWidth = 20;

    /// <summary>The agents section of a result, with its cost per job when the run was priced (<paramref name="usdPerJob"/>).</summary>
    public static string Run(AgentRunReport r, double? usdPerJob = null)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"\n#### agents: {r.Profile}, {r.Agents} agents, {r.Workers} tool workers ({r.Cores} cores here), LLM {r.Llm} ({r.Batching} batching, max batch {r.MaxBatch})\n\n");
        sb.Append("| jobs/h | turns/s | LLM busy | LLM active | mean batch | tokens/s | CPU util | tool share | tool queue p50 | JCT p50 | $/job |\n");
        sb.Append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        sb.Append(c, $"| {r.JobsPerHour:0.#} | {r.TurnsPerS:0.###} | {r.LlmBusyFraction:P1} | {r.LlmActiveFraction:P1} | {r.LlmMeanDecodeBatch:0.#} | {r.TokensPerS:0} | {Pct(r.CpuUtilization)} | {r.ToolShareOfTurnTime:P1} | {Ms(r.ToolQueueMs?.P50)} | {Ms(r.JobCompletionTimeMs?.P50)} | {(usdPerJob is { } d ? d.ToString("0.0000", c) : "n/a")} |\n\n");
        sb.Append("| tool | calls | failed | latency p50 | p90 | queue p50 | p90 | CPU ms/call | out tokens/call |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach ((string name, AgentToolReport t) in r.Tools)
        {
            sb.Append(c, $"| {name} | {t.Calls} | {t.Calls - t.Ok} | {Ms(t.LatencyMs?.P50)} | {Ms(t.LatencyMs?.P90)} | {Ms(t.QueueMs?.P50)} | {Ms(t.QueueMs?.P90)} | {t.CpuMsMean:0.#} | {t.OutputTokensMean:0} |\n");
        }

        foreach ((string name, AgentToolReport t) in r.Tools)
        {
            foreach (var f in t.Failures.Take(3))
            {
                sb.Append(c, $"- {name} x{f.Count}: {f.Message}\n");
            }
        }

        if (r.SteadyStateNote is not null)
        {
            sb.Append(c, $"\nNote: {r.SteadyStateNote}.\n");
        }

        if (r.Aborted is not null)
        {
            sb.Append(c, $"\nRun aborted: {r.Aborted}\n");
        }

        return sb.ToString();
    }

    public static string PointLine(AgentSweepPoint p) => string.Create(CultureInfo.InvariantCulture,
        $"workers {p.Workers,4}: LLM busy {p.LlmBusyFraction,6:P1}, {p.JobsPerHour,8:0.#} jobs/h, CPU {Pct(p.CpuUtilization)}, tool queue p50 {Ms(p.ToolQueueMsP50)} ms{(p.Oversubscribed ? " (more workers than cores)" : "")}");

    public static string Sweep(AgentSweepDocument d, string? path)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"\n### agents sweep: {d.Profile}, {d.Agents} agents per GPU, LLM {d.Llm} ({d.Batching}, max batch {d.MaxBatch}), {d.Cores} cores here\n\n");
        sb.Append("| workers | LLM busy | | simulated | LLM active | jobs/h | turns/s | CPU util | tool queue p50 | p90 | $/job |\n");
        sb.Append("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (AgentSweepPoint p in d.Points)
        {
            sb.Append(c, $"| {p.Workers}{(p.Oversubscribed ? "*" : "")} | {p.LlmBusyFraction:P1} | {Bar(p.LlmBusyFraction)} | {Pct(p.SimulatedLlmBusyFraction)} | {p.LlmActiveFraction:P1} | {p.JobsPerHour:0.#} | {p.TurnsPerS:0.###} | {Pct(p.CpuUtilization)} | {Ms(p.ToolQueueMsP50)} | {Ms(p.ToolQueueMsP90)} | {(p.UsdPerJob is { } x ? x.ToString("0.0000", c) : "n/a")} |\n");
        }

        if (d.Points.Any(p => p.TurnsPerAgent < 3))
        {
            sb.Append("\nNote: some points saw fewer than 3 turns per agent: a transient rather than steady state; use a longer --warmup and --duration.\n");
        }

        if (d.Points.Any(p => p.Oversubscribed))
        {
            sb.Append("\n\\* more workers than cores here: calls share cores.\n");
        }

        sb.Append(c, $"\n**cores_per_gpu_for_90pct_busy: {(d.CoresPerGpuFor90pctBusy?.ToString(c) ?? "n/a")}** ({d.CoresPerGpuBasis}{(d.CoresPerGpuInterpolated is { } i ? string.Create(c, $", crossing at {i:0.##}") : "")}): {d.CoresPerGpuNote}\n");
        foreach (AgentProjection p in d.Projection is null ? d.Projections : d.Projections.Prepend(d.Projection))
        {
            sb.Append(c, $"\n{p.Card}: {(p.CoresPerGpuFor90pctBusy?.ToString(c) ?? "n/a")} cores per GPU ({p.Note}); LLM: {p.LlmSource}\n\n");
            sb.Append("| workers | LLM busy (simulated) | | jobs/h |\n|---:|---:|---|---:|\n");
            foreach (CurvePoint q in p.Curve)
            {
                sb.Append(c, $"| {q.Workers} | {q.LlmBusyFraction:P1} | {Bar(q.LlmBusyFraction)} | {q.JobsPerHour:0.#} |\n");
            }
        }

        if (path is not null)
        {
            sb.Append(c, $"\nSweep: {path}\n");
        }

        return sb.ToString();
    }

    private static string Bar(double fraction)
    {
        int n = (int)Math.Round(Math.Clamp(fraction, 0, 1) * BarWidth);
        return new string('#', n) + new string('.', BarWidth - n);
    }

    private static string Pct(double? v) => v is { } x ? x.ToString("P1", CultureInfo.InvariantCulture) : "n/a";

    private static string Ms(double? v) => v is { } x ? x.ToString("0.#", CultureInfo.InvariantCulture) : "n/a";
}
