using Harness.Agents.Jobs;
using Harness.Agents.Tools;
using Harness.Decoding;

namespace Harness.Agents.Scheduling;

/// <summary>
/// Runs the same coordinator, and the same continuous batching of the in-process LLM endpoint, on a
/// simulated clock (discrete events, 1 tick = 1 ns): tool calls take their modeled cost, LLM
/// iterations their latency-model time, and nothing waits for real. Used to check the scheduler's
/// accounting exactly and to project the curve to more cores than this machine has, from tool costs
/// measured here.
/// </summary>
public sealed class SimulatedAgentRunner : IAgentHost, IDeviceObserver
{
    public const long Frequency = 1_000_000_000;

    private readonly JobGenerator _jobs;
    private readonly AgentSchedulerOptions _options;
    private readonly LatencyModel _llm;
    private readonly IToolCostModel _tools;
    private readonly AgentRunTiming _timing;
    private readonly PriorityQueue<Event, (long Time, long Order)> _events = new();
    private AgentCoordinator? _coordinator;
    private ContinuousBatcher? _batcher;
    private long _now;
    private long _order;
    private long? _timerAt;
    private long? _wakeAt;

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
        using LatencyModelDecoder device = LatencyModelDecoder.Untimed(_llm, _options.MaxBatch); // its time is simulated here
        var batcher = new ContinuousBatcher(device, _options.Endpoint, Frequency) { Observer = this };
        var coordinator = new AgentCoordinator(_jobs, _options, this, accounting);
        (_batcher, _coordinator) = (batcher, coordinator);
        _now = 0;
        coordinator.Start(0);
        Pump();
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
                    device.Step(batcher.Joining, batcher.Running, CancellationToken.None);
                    batcher.Done(e.Start, _now);
                    break;
                case Kind.Timer:
                    _timerAt = null;
                    break;
                case Kind.Wake:
                    coordinator.OnTime(_now);
                    break;
            }

            Pump();
        }

        coordinator.Stop(windowEnd);
        var window = TimeSpan.FromSeconds((double)(windowEnd - windowStart) / Frequency);
        return new AgentRunOutcome(
            accounting, _options, batcher.Batching, batcher.MaxBatch, DateTime.UnixEpoch,
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

    void IAgentHost.SubmitStep(AgentStep step) => _batcher!.Submit(step.Request, step, _now);

    void IAgentHost.StepCompleted(AgentStep step, long end) => _coordinator!.OnStepDone(step, end, _now);

    void IAgentHost.StepFailed(AgentStep step, Exception error) => throw new InvalidOperationException("a simulated LLM cannot fail", error);

    void IDeviceObserver.IterationStarted(int sequences, long start) => _coordinator!.OnIterationStarted(sequences, start);

    void IDeviceObserver.IterationDone(int joining, int decoded, int prefillTokens, long start, long end) =>
        _coordinator!.OnIterationDone(joining, decoded, prefillTokens, start, end);

    private static long Ticks(TimeSpan t) => (long)Math.Round(t.TotalSeconds * Frequency);

    private static long Ms(double ms) => (long)Math.Round(ms * 1e6);

    /// <summary>After every event, as the in-process endpoint's device thread does: start an iteration if the device is idle, else wait for a batch window.</summary>
    private void Pump()
    {
        ContinuousBatcher b = _batcher!;
        if (b.Next(_now))
        {
            Push(_now + Ms(_llm.IterationMs(b.Joining, b.Running)), new Event(Kind.Device, 0, null, null, _now));
        }

        if (b.NextTimer is { } t && t != _timerAt)
        {
            _timerAt = t;
            Push(Math.Max(t, _now), new Event(Kind.Timer, 0, null, null, _now));
        }

        if (_coordinator!.NextWake is { } wake && wake != _wakeAt)
        {
            _wakeAt = wake;
            Push(Math.Max(wake, _now), new Event(Kind.Wake, 0, null, null, _now));
        }
    }

    private void Push(long time, Event e) => _events.Enqueue(e, (time, _order++));

    private enum Kind
    {
        Tool,
        Device,
        Timer,
        Wake,
    }

    private readonly record struct Event(Kind Kind, int Worker, ToolTicket? Ticket, ToolResult? Result, long Start);
}
