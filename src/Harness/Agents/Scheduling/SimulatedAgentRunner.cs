using Harness.Agents.Jobs;
using Harness.Agents.Llm;
using Harness.Agents.Tools;

namespace Harness.Agents.Scheduling;

/// <summary>
/// Runs the same coordinator on a simulated clock (discrete events, 1 tick = 1 ns): tool calls take
/// their modeled cost, LLM iterations their latency-model time, and nothing waits for real. Used to
/// check the scheduler's accounting exactly and to project the curve to more cores than this machine
/// has, from tool costs measured here.
/// </summary>
public sealed class SimulatedAgentRunner : IAgentHost
{
    public const long Frequency = 1_000_000_000;

    private readonly JobGenerator _jobs;
    private readonly AgentSchedulerOptions _options;
    private readonly LatencyModel _llm;
    private readonly IToolCostModel _tools;
    private readonly AgentRunTiming _timing;
    private readonly PriorityQueue<Event, (long Time, long Order)> _events = new();
    private long _now;
    private long _order;
    private long? _timerAt;

    public SimulatedAgentRunner(JobGenerator jobs, AgentSchedulerOptions options, LatencyModel llm, IToolCostModel tools, AgentRunTiming timing)
    {
        _jobs = jobs;
        _options = options;
        _llm = llm;
        _tools = tools;
        _timing = timing;
    }

    /// <summary>Events handled by the last run (for tests of its cost).</summary>
    public long EventsHandled { get; private set; }

    public AgentRunOutcome Run()
    {
        long windowStart = Ticks(_timing.Warmup);
        long windowEnd = windowStart + Ticks(_timing.Duration);
        var accounting = new AgentAccounting(Frequency, windowStart, _options.MaxBatch, _options.Workers);
        using var device = new LatencyModelExecutor(_llm); // capabilities only: never called here
        var coordinator = new AgentCoordinator(_jobs, _options, device, this, accounting, Frequency);
        _now = 0;
        coordinator.Start(0);
        ArmTimer(coordinator);
        while (_events.TryDequeue(out Event e, out var key) && key.Time < windowEnd)
        {
            _now = key.Time;
            EventsHandled++;
            switch (e.Kind)
            {
                case Kind.Tool:
                    coordinator.OnToolDone(e.Worker, e.Ticket!, e.Result!, _now);
                    break;
                case Kind.Device:
                    coordinator.OnDeviceDone(e.Start, _now, _now);
                    break;
                case Kind.Timer:
                    _timerAt = null;
                    coordinator.OnTimer(_now);
                    break;
            }

            ArmTimer(coordinator);
        }

        coordinator.Stop(windowEnd);
        var window = TimeSpan.FromSeconds((double)(windowEnd - windowStart) / Frequency);
        return new AgentRunOutcome(
            accounting, _options, coordinator.Batching, coordinator.MaxBatch, DateTime.UnixEpoch,
            window, windowEnd - windowStart, TimeSpan.Zero, TimeSpan.Zero, _options.Workers,
            Cancelled: false, Aborted: null, AbandonedWorkers: 0);
    }

    void IAgentHost.StartTool(int worker, ToolTicket ticket)
    {
        ToolCost cost = _tools.Cost(ticket.Call);
        long end = _now + Ticks(cost.Service);
        var result = new ToolResult(cost.Failed ? ToolOutcome.Error : ToolOutcome.Ok, cost.Failed ? "simulated failure" : null, cost.OutputTokens, _now, end, cost.Service);
        Push(end, new Event(Kind.Tool, worker, ticket, result, _now));
    }

    void IAgentHost.StartIteration(IReadOnlyList<LlmSequence> joining, IReadOnlyList<LlmSequence> running) =>
        Push(_now + Ms(_llm.IterationMs(joining.Count, LatencyModelExecutor.PrefillTokens(joining), running.Count)), new Event(Kind.Device, 0, null, null, _now));

    void IAgentHost.Release(LlmSequence sequence)
    {
    }

    private static long Ticks(TimeSpan t) => (long)Math.Round(t.TotalSeconds * Frequency);

    private static long Ms(double ms) => (long)Math.Round(ms * 1e6);

    private void ArmTimer(AgentCoordinator coordinator)
    {
        if (coordinator.NextTimer is { } t && t != _timerAt)
        {
            _timerAt = t;
            Push(Math.Max(t, _now), new Event(Kind.Timer, 0, null, null, _now));
        }
    }

    private void Push(long time, Event e) => _events.Enqueue(e, (time, _order++));

    private enum Kind
    {
        Tool,
        Device,
        Timer,
    }

    private readonly record struct Event(Kind Kind, int Worker, ToolTicket? Ticket, ToolResult? Result, long Start);
}
