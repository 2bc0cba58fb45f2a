using Harness.Agents.Jobs;
using Harness.Agents.Scheduling;
using Harness.Decoding;

namespace Harness.Agents.Reporting;

/// <summary>
/// The answer to "how many CPU cores per GPU does this agent mix need": the fewest tool workers (one
/// core each) at which the LLM device's busy fraction (batch-slot occupancy) reaches 90%, for the
/// profile's agents per GPU. From measured sweep points where they reach it; otherwise projected by
/// simulating the same scheduler with tool costs measured here and the LLM's latency model.
/// </summary>
public static class CoresPerGpu
{
    /// <summary>Worker counts evaluated for the chart beyond the search's own points.</summary>
    private static readonly int[] WorkerCounts = [1, 2, 4, 8, 16, 32, 64, 128, 256];

    public const double TargetBusy = 0.90;

    /// <summary>Most tool calls of one turn that can run at once per agent, for the "unlimited cores" bound with parallel calls.</summary>
    private const int ParallelCallsBound = 16;

    /// <summary>
    /// The first point of an ascending curve at or above the target, and the linearly interpolated
    /// crossing between it and the point before; nulls when no point reaches the target.
    /// </summary>
    public static (int? Cores, double? Interpolated) Crossing(IReadOnlyList<CurvePoint> curve, double target = TargetBusy)
    {
        CurvePoint? previous = null;
        foreach (CurvePoint p in curve.OrderBy(p => p.Workers))
        {
            if (p.LlmBusyFraction >= target)
            {
                if (previous is not { } q || p.LlmBusyFraction <= q.LlmBusyFraction)
                {
                    return (p.Workers, p.Workers);
                }

                double x = q.Workers + ((target - q.LlmBusyFraction) / (p.LlmBusyFraction - q.LlmBusyFraction) * (p.Workers - q.Workers));
                return (p.Workers, Math.Round(x, 2));
            }

            previous = p;
        }

        return (null, null);
    }

    /// <summary>
    /// Simulates the scheduler at growing worker counts (doubling, then bisecting) until the LLM device
    /// is 90% busy or more workers no longer help (every agent can have its calls running).
    /// </summary>
    public static AgentProjection Project(
        string name,
        JobGenerator jobs,
        AgentSchedulerOptions options,
        LatencyModel model,
        IToolCostModel costs,
        AgentRunTiming timing,
        int maxWorkers = 4096)
    {
        int unlimited = Math.Min(maxWorkers, options.Agents * (jobs.Profile.ParallelToolCalls ? ParallelCallsBound : 1));
        var curve = new SortedDictionary<int, CurvePoint>();
        CurvePoint Eval(int w)
        {
            if (!curve.TryGetValue(w, out CurvePoint p))
            {
                var sim = new SimulatedAgentRunner(jobs, options with { Workers = w }, model, costs, timing);
                AgentRunReport r = AgentRunReport.From(sim.Run(), jobs.Profile, "latency-model");
                p = new CurvePoint(w, r.LlmBusyFraction, r.JobsPerHour, r.LlmActiveFraction);
                curve[w] = p;
            }

            return p;
        }

        int lo = 0, hi = 1;
        while (Eval(hi).LlmBusyFraction < TargetBusy && hi < unlimited)
        {
            lo = hi;
            hi = Math.Min(unlimited, hi * 2);
        }

        string note;
        int? cores = null;
        double? interpolated = null;
        if (Eval(hi).LlmBusyFraction >= TargetBusy)
        {
            while (hi - lo > 1)
            {
                int mid = (lo + hi) / 2;
                if (Eval(mid).LlmBusyFraction >= TargetBusy)
                {
                    hi = mid;
                }
                else
                {
                    lo = mid;
                }
            }

            (cores, interpolated) = Crossing(curve.Values.ToList());
            note = $"simulated: {cores} tool workers keep the LLM device {Eval(hi).LlmBusyFraction:P0} busy with {options.Agents} agents";
        }
        else
        {
            note = $"unreachable with {options.Agents} agents: even {hi} workers (every agent's calls running at once) keep the device only {Eval(hi).LlmBusyFraction:P0} busy; more agents per GPU are needed";
        }

        // A few more points for the chart, up to twice the answer.
        foreach (int w in WorkerCounts.Where(w => w <= Math.Min(unlimited, 2 * (cores ?? hi))))
        {
            Eval(w);
        }

        return new AgentProjection
        {
            Card = name,
            LlmSource = model.Source,
            Llm = model.Describe(),
            CoresPerGpuFor90pctBusy = cores,
            CoresInterpolated = interpolated,
            MaxLlmBusyFraction = curve.Values.Max(p => p.LlmBusyFraction),
            Note = note,
            Curve = curve.Values.ToList(),
        };
    }
}

/// <summary>One point of a busy-fraction curve.</summary>
public readonly record struct CurvePoint(int Workers, double LlmBusyFraction, double JobsPerHour, double LlmActiveFraction);

/// <summary>A simulated curve for one LLM (this run's, or another card's numbers) with tool costs measured here.</summary>
public sealed class AgentProjection
{
    public string Card { get; set; } = "";

    public string LlmSource { get; set; } = "";

    public Dictionary<string, object?> Llm { get; set; } = [];

    [System.Text.Json.Serialization.JsonPropertyName("cores_per_gpu_for_90pct_busy")]
    public int? CoresPerGpuFor90pctBusy { get; set; }

    public double? CoresInterpolated { get; set; }

    public double MaxLlmBusyFraction { get; set; }

    public string Note { get; set; } = "";

    public List<CurvePoint> Curve { get; set; } = [];
}
