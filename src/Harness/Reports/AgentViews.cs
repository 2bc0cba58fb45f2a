using System.Globalization;
using Harness.Agents.Reporting;
using Harness.Results;

namespace Harness.Reports;

/// <summary>
/// The views of agent runs: for a sweep, LLM busy fraction and jobs per hour against tool workers
/// with the 90% line and the cores-per-GPU answer marked; for every point or run, where a turn's time
/// goes (LLM, tool queueing, tool running); and tool latency by tool.
/// </summary>
internal static class AgentViews
{
    public static void Add(HtmlPage page, RunSet runs, IReadOnlyList<AgentSweepInput> sweeps)
    {
        var inSweeps = sweeps.SelectMany(s => s.Points).Select(p => Path.GetFullPath(p.Path)).ToHashSet(StringComparer.Ordinal);
        RunSet single = runs.Where(r => r.Document.Agents is not null && !inSweeps.Contains(Path.GetFullPath(r.Path)));
        if (sweeps.Count == 0 && single.All.Count == 0)
        {
            page.Part("agents", "Agents").Html("<p class=\"absent\" data-absent=\"part-agents\">No agent run or agents sweep here: harness agents sweep --profile coding-agent writes a folder this report reads whole.</p>");
            return;
        }

        page.Part("agents", "Agents", "How many CPU cores per GPU an agent mix needs: the fewest tool workers (one core each) at which the LLM device stays 90% busy.");
        page.View("agents-busy", "LLM busy fraction against tool workers", Join(sweeps.Select(Busy)),
            "No agents sweep here: harness agents sweep --profile NAME --workers 1,2,4 measures the curve.",
            string.Join(" ", sweeps.Select(s => $"{s.Document.Profile}: {s.Document.CoresPerGpuNote}.")));
        page.View("agents-jobs", "Jobs per hour against tool workers", Join(sweeps.Select(Jobs)),
            "No agents sweep here.");
        page.View("agents-turn-time", "Where a turn's time goes", Join(sweeps.Select(s => TurnTime(s, runs)).Append(TurnTime(single))),
            "No agent run records its turn time (agents.tool_share_of_turn_time).",
            "Each turn is an LLM step (its queue and its iterations on the device) then the turn's tool calls; the tool part is split into queueing for a worker and running on it in the ratio of the calls' mean queue and run times (medians for a sweep file that kept no point results).");
        page.View("agents-tool-latency", "Tool latency by tool", Join(sweeps.Select(ToolCosts).Append(ToolLatency(single))),
            "No agent run records its tools' latency.",
            "Dot: median; bar: to the 90th percentile (sweeps, over the points with no more workers than cores) or the 99th (single runs). Wall time is on the worker; CPU time is what the tool's thread and subprocesses used, what a dedicated core would take.");
    }

    private static string? Join(IEnumerable<string?> charts)
    {
        var present = charts.OfType<string>().ToList();
        return present.Count > 0 ? string.Concat(present) : null;
    }

    private static string Name(AgentSweepDocument d) => $"{d.Profile}, {d.Agents} agents, LLM {d.Llm}";

    /// <summary>The answer's position on the workers axis: the interpolated crossing, else the worker count; null when there is none.</summary>
    private static double? Answer(AgentSweepDocument d) => d.CoresPerGpuInterpolated ?? d.CoresPerGpuFor90pctBusy;

    private static string AnswerLabel(AgentSweepDocument d) => string.Create(CultureInfo.InvariantCulture,
        $"{d.CoresPerGpuFor90pctBusy} cores per GPU ({d.CoresPerGpuBasis}{(d.CoresPerGpuInterpolated is { } x && x != d.CoresPerGpuFor90pctBusy ? $", crossing at {x:0.##}" : "")})");

    private static string? Busy(AgentSweepInput s)
    {
        AgentSweepDocument d = s.Document;
        if (d.Points.Count == 0 && d.Projection is null)
        {
            return null;
        }

        var chart = new SvgChart("agents-busy", $"LLM busy: {Name(d)}", "tool workers (cores)", "LLM busy (%)") { XMin = 0, YMin = 0, YMax = 100 };
        var points = d.Points.OrderBy(p => p.Workers).ToList();
        chart.Add("measured", points.Select(p => ((double)p.Workers, p.LlmBusyFraction * 100)), markers: true, colorIndex: 0);
        if (points.Any(p => p.Oversubscribed))
        {
            chart.Add("measured, more workers than cores here", points.Where(p => p.Oversubscribed).Select(p => ((double)p.Workers, p.LlmBusyFraction * 100)), lines: false, markers: true, colorIndex: 3);
        }

        if (points.Any(p => p.SimulatedLlmBusyFraction is not null))
        {
            chart.Add("simulated at the measured points", points.Where(p => p.SimulatedLlmBusyFraction is not null).Select(p => ((double)p.Workers, p.SimulatedLlmBusyFraction!.Value * 100)), lines: false, markers: true, colorIndex: 5);
        }

        int[] colors = [1, 2, 4, 7];
        int color = 0;
        foreach (AgentProjection p in Projections(d))
        {
            chart.Add($"projected: {p.Card}", p.Curve.OrderBy(c => c.Workers).Select(c => ((double)c.Workers, c.LlmBusyFraction * 100)), markers: true, dashed: true, colorIndex: colors[color++ % colors.Length]);
        }

        chart.AddRule(ChartAxis.Y, CoresPerGpu.TargetBusy * 100, "90% busy", colorIndex: 6);
        if (Answer(d) is { } answer)
        {
            chart.AddRule(ChartAxis.X, answer, $"answer: {AnswerLabel(d)}", colorIndex: 1, dashed: false);
        }

        return chart.Render();
    }

    private static string? Jobs(AgentSweepInput s)
    {
        AgentSweepDocument d = s.Document;
        if (d.Points.Count == 0 && d.Projection is null)
        {
            return null;
        }

        var chart = new SvgChart("agents-jobs", $"Jobs per hour: {Name(d)}", "tool workers (cores)", "jobs per hour (jobs/h)") { XMin = 0, YMin = 0 };
        chart.Add("measured", d.Points.OrderBy(p => p.Workers).Select(p => ((double)p.Workers, p.JobsPerHour)), markers: true, colorIndex: 0);
        int[] colors = [1, 2, 4, 7];
        int color = 0;
        foreach (AgentProjection p in Projections(d))
        {
            chart.Add($"projected: {p.Card}", p.Curve.OrderBy(c => c.Workers).Select(c => ((double)c.Workers, c.JobsPerHour)), markers: true, dashed: true, colorIndex: colors[color++ % colors.Length]);
        }

        if (Answer(d) is { } answer)
        {
            chart.AddRule(ChartAxis.X, answer, $"answer: {AnswerLabel(d)}", colorIndex: 1, dashed: false);
        }

        return chart.Render();
    }

    private static IEnumerable<AgentProjection> Projections(AgentSweepDocument d) =>
        (d.Projection is { } p ? [p] : Array.Empty<AgentProjection>()).Concat(d.Projections).Where(p => p.Curve.Count > 0);

    /// <summary>LLM, tool queueing and tool running as shares of a turn (%): the tool share split in the ratio of queue to run time.</summary>
    private static (double Llm, double Queue, double Run)? Shares(double toolShare, double? queueMs, double? runMs)
    {
        if (!(toolShare >= 0) || toolShare > 1)
        {
            return null;
        }

        double queue = queueMs ?? 0, run = runMs ?? 0;
        double queuePart = queue + run > 0 ? toolShare * queue / (queue + run) : 0;
        return ((1 - toolShare) * 100, queuePart * 100, (toolShare - queuePart) * 100);
    }

    private static string? StackedTurns(string title, IReadOnlyList<string> rows, IReadOnlyList<string?> rowRuns, IReadOnlyList<(double Llm, double Queue, double Run)?> shares)
    {
        if (shares.All(s => s is null))
        {
            return null;
        }

        var chart = new SvgChart("agents-turn-time", title, "share of a turn's time (%)", "tool workers or run") { Rows = rows, RowRuns = rowRuns, XMin = 0, XMax = 100 };
        var at = shares.Select((s, i) => (s, i)).Where(x => x.s is not null).ToList();
        chart.AddBars("LLM step (queue and device)", at.Select(x => (x.i, 0.0, x.s!.Value.Llm)), colorIndex: 0, stack: "turn");
        chart.AddBars("tool queueing (waiting for a worker)", at.Select(x => (x.i, x.s!.Value.Llm, x.s!.Value.Llm + x.s!.Value.Queue)), colorIndex: 1, stack: "turn");
        chart.AddBars("tool running (on a worker)", at.Select(x => (x.i, x.s!.Value.Llm + x.s!.Value.Queue, 100.0)), colorIndex: 2, stack: "turn");
        return chart.Render();
    }

    private static string? TurnTime(AgentSweepInput s, RunSet runs)
    {
        var byWorkers = s.Points.Where(p => p.Document.Agents is not null).ToDictionary(p => p.Document.Agents!.Workers, p => p);
        var points = s.Document.Points.OrderBy(p => p.Workers).ToList();
        var shares = points.Select(p => byWorkers.TryGetValue(p.Workers, out LoadedResult? r)
            ? Shares(p.ToolShareOfTurnTime, r.Document.Agents!.ToolQueueMs?.Mean, r.Document.Agents!.ToolLatencyMs?.Mean)
            : Shares(p.ToolShareOfTurnTime, p.ToolQueueMsP50, p.ToolLatencyMsP50)).ToList();
        var runIds = points.Select(p => byWorkers.TryGetValue(p.Workers, out LoadedResult? r) && runs.All.Contains(r) ? runs.Id(r) : null).ToList();
        return StackedTurns($"Turn time: {Name(s.Document)}", points.Select(p => $"{p.Workers} worker{(p.Workers == 1 ? "" : "s")}{(p.Oversubscribed ? " (more than cores)" : "")}").ToList(), runIds, shares);
    }

    private static string? TurnTime(RunSet single)
    {
        if (single.All.Count == 0)
        {
            return null;
        }

        var shares = single.All.Select(r => r.Document.Agents is { } a ? Shares(a.ToolShareOfTurnTime, a.ToolQueueMs?.Mean, a.ToolLatencyMs?.Mean) : null).ToList();
        return StackedTurns("Turn time per agent run", single.All.Select(single.Label).ToList(), single.All.Select(single.Id).ToList(), shares);
    }

    private static string? ToolCosts(AgentSweepInput s)
    {
        var tools = s.Document.ToolCosts.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        if (tools.Count == 0)
        {
            return null;
        }

        var chart = new SvgChart("agents-tool-latency", $"Tool latency: {Name(s.Document)}", "time per call (ms)", "tool")
        {
            Rows = tools.Select(t => $"{t.Key} ({t.Value.Samples} calls)").ToList(),
            LogX = true,
        };
        chart.AddIntervals("wall time on the worker (p50 to p90)", tools.Select((t, i) => (t.Value.WallP50Ms, (double)i, t.Value.WallP50Ms, t.Value.WallP90Ms)), colorIndex: 0);
        chart.AddIntervals("CPU time (p50 to p90)", tools.Select((t, i) => (t.Value.CpuP50Ms, (double)i, t.Value.CpuP50Ms, t.Value.CpuP90Ms)), colorIndex: 2);
        return chart.Render();
    }

    private static string? ToolLatency(RunSet single)
    {
        var rows = single.All.Where(r => r.Document.Agents is not null)
            .SelectMany(r => r.Document.Agents!.Tools.Where(t => t.Value.LatencyMs is not null).Select(t => (Run: r, Tool: t.Key, Report: t.Value))).ToList();
        if (rows.Count == 0)
        {
            return null;
        }

        bool several = single.All.Count > 1;
        var chart = new SvgChart("agents-tool-latency", "Tool latency per agent run", "time per call (ms)", "tool")
        {
            Rows = rows.Select(x => $"{(several ? single.Label(x.Run) + ": " : "")}{x.Tool} ({x.Report.Calls} calls)").ToList(),
            RowRuns = rows.Select(x => (string?)single.Id(x.Run)).ToList(),
            LogX = true,
        };
        chart.AddIntervals("run on the worker (p50 to p99)", rows.Select((x, i) => (x.Report.LatencyMs!.P50, (double)i, x.Report.LatencyMs.P50, x.Report.LatencyMs.P99)), colorIndex: 0);
        chart.AddIntervals("queue for a worker (p50 to p99)", rows.Where(x => x.Report.QueueMs is not null).Select(x => (x.Report.QueueMs!.P50, (double)rows.IndexOf(x), x.Report.QueueMs.P50, x.Report.QueueMs.P99)), colorIndex: 1);
        return chart.Render();
    }
}
