using System.Globalization;
using System.Text;
using Harness.Formatting;
using static System.FormattableString;
using static Harness.Formatting.MarkdownColumn;

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
        new MarkdownTable(Right("jobs/h"), Right("turns/s"), Right("LLM busy"), Right("LLM active"), Right("mean batch"), Right("tokens/s"),
                Right("CPU util"), Right("tool share"), Right("tool queue p50"), Right("JCT p50"), Right("$/job"))
            .Row(Invariant($"{r.JobsPerHour:0.#}"), Invariant($"{r.TurnsPerS:0.###}"), Invariant($"{r.LlmBusyFraction:P1}"),
                Invariant($"{r.LlmActiveFraction:P1}"), Invariant($"{r.LlmMeanDecodeBatch:0.#}"), Invariant($"{r.TokensPerS:0}"),
                Pct(r.CpuUtilization), Invariant($"{r.ToolShareOfTurnTime:P1}"), Ms(r.ToolQueueMs?.P50), Ms(r.JobCompletionTimeMs?.P50),
                usdPerJob is { } d ? d.ToString("0.0000", c) : "n/a")
            .AppendTo(sb).Append('\n');
        var tools = new MarkdownTable(Left("tool"), Right("calls"), Right("failed"), Right("latency p50"), Right("p90"), Right("queue p50"),
            Right("p90"), Right("CPU ms/call"), Right("out tokens/call"));
        foreach ((string name, AgentToolReport t) in r.Tools)
        {
            tools.Row(name, Invariant($"{t.Calls}"), Invariant($"{t.Calls - t.Ok}"), Ms(t.LatencyMs?.P50), Ms(t.LatencyMs?.P90),
                Ms(t.QueueMs?.P50), Ms(t.QueueMs?.P90), Invariant($"{t.CpuMsMean:0.#}"), Invariant($"{t.OutputTokensMean:0}"));
        }

        tools.AppendTo(sb);

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
        var points = new MarkdownTable(Right("workers"), Right("LLM busy"), Left(""), Right("simulated"), Right("LLM active"),
            Right("jobs/h"), Right("turns/s"), Right("CPU util"), Right("tool queue p50"), Right("p90"), Right("$/job"));
        foreach (AgentSweepPoint p in d.Points)
        {
            points.Row(Invariant($"{p.Workers}{(p.Oversubscribed ? "*" : "")}"), Invariant($"{p.LlmBusyFraction:P1}"),
                Bar(p.LlmBusyFraction),
                Pct(p.SimulatedLlmBusyFraction), Invariant($"{p.LlmActiveFraction:P1}"), Invariant($"{p.JobsPerHour:0.#}"),
                Invariant($"{p.TurnsPerS:0.###}"), Pct(p.CpuUtilization), Ms(p.ToolQueueMsP50), Ms(p.ToolQueueMsP90),
                p.UsdPerJob is { } x ? x.ToString("0.0000", c) : "n/a");
        }

        points.AppendTo(sb);

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
            var curve = new MarkdownTable(Right("workers"), Right("LLM busy (simulated)"), Left(""), Right("jobs/h"));
            foreach (CurvePoint q in p.Curve)
            {
                curve.Row(Invariant($"{q.Workers}"), Invariant($"{q.LlmBusyFraction:P1}"), Bar(q.LlmBusyFraction),
                    Invariant($"{q.JobsPerHour:0.#}"));
            }

            curve.AppendTo(sb);
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
