using Harness.Agents.Jobs;
using Harness.Agents.Tools;
using Harness.Decoding;
using Harness.Measurement;

namespace Harness.Agents.Scheduling;

/// <summary>The timing of one agent run: warm-up (not measured), then the measured window.</summary>
public sealed record AgentRunTiming(TimeSpan Warmup, TimeSpan Duration)
{
    /// <summary>Extra time after its timeout before a tool call that ignores cancellation is declared hung and its worker replaced.</summary>
    public TimeSpan HangGrace { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>What a finished run hands to the report: the accounting plus clocks and CPU over the window.</summary>
public sealed record AgentRunOutcome(
    AgentAccounting Accounting,
    AgentSchedulerOptions Options,
    LlmBatching Batching,
    int MaxBatch,
    DateTime StartedUtc,
    TimeSpan WallWindow,
    long MonotonicWindow,
    TimeSpan ProcessCpu,
    TimeSpan ChildCpu,
    int Cores,
    bool Cancelled,
    string? Aborted,
    int AbandonedWorkers)
{
    /// <summary>CPU time of the LLM endpoint's driver thread over the whole run (warm-up included: an upper bound for the window).</summary>
    public TimeSpan LlmDriverCpu { get; init; }

    /// <summary>How far apart the two clocks' readings at the window's edges could be (for the clock rule).</summary>
    public long ClockUncertaintyTicks { get; init; }

    /// <summary>The LLM's context and what the context policy did; null for runs that predate it.</summary>
    public ContextWindow? Context { get; init; }

    /// <summary>Times agents waited after a failed LLM step.</summary>
    public long Backoffs { get; init; }

    /// <summary>Set when the run ended because a step did not fit the context under the refuse policy: the refusal.</summary>
    public string? Refusal { get; init; }
}

/// <summary>
/// Runs agents for real: the calling thread coordinates; W dedicated threads run tool calls; the LLM
/// steps go to an <see cref="ILlmEndpoint"/> (in this process, its own device thread). Completions
/// and the endpoint's device iterations come back through one event queue, so the coordinator stays
/// single-threaded. A watchdog replaces the worker of a call that outlives its timeout by the grace
/// period (the call is recorded as hung and abandoned on its thread); too many hung calls, or a
/// failing LLM endpoint, end the run early with the reason. The run never waits on a tool without a
/// bound: at its end, tools are cancelled and waited for at most their timeout plus the grace.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The run's cancellation source lives for one Run call and is disposed in its Shutdown, after the workers are joined.")]
public sealed class AgentRunner : IAgentHost, IDeviceObserver
{
    private readonly JobGenerator _jobs;
    private readonly ToolSet _tools;
    private readonly ILlmEndpoint _llm;
    private readonly AgentSchedulerOptions _options;
    private readonly AgentRunTiming _timing;
    private readonly IClock _clock;
    private readonly object _gate = new();
    private readonly Queue<HostEvent> _events = new();
    private readonly Worker[] _workers;
    private readonly CancellationTokenSource _runCts = new();
    private readonly TimeSpan _toolTimeout;
    private int _abandoned;

    /// <param name="llm">Where the LLM steps go; its device iterations are observed for the busy fraction (in-process endpoints).</param>
    public AgentRunner(JobGenerator jobs, ToolSet tools, ILlmEndpoint llm, AgentSchedulerOptions options, AgentRunTiming timing, IClock? clock = null)
    {
        options.Validate();
        tools.Validate(jobs.Profile);
        _jobs = jobs;
        _tools = tools;
        _llm = llm;
        _options = options;
        _timing = timing;
        _clock = clock ?? StopwatchClock.Instance;
        _toolTimeout = jobs.Profile.ToolTimeout;
        _workers = new Worker[options.Workers];
    }

    /// <summary>Hung calls tolerated before the run ends: each leaves a thread behind until its tool returns.</summary>
    public int MaxAbandonedWorkers { get; init; } = 16;

    /// <summary>Told the run's phases (warm-up, measuring, done), as the engine tells them: telemetry and live metrics hang on it.</summary>
    public IRunObserver? Observer { get; init; }

    /// <summary>Told the measured window's turns, tool calls, jobs and device time as they happen.</summary>
    public IAgentObserver? Live { get; init; }

    public AgentRunOutcome Run(CancellationToken cancellationToken = default)
    {
        long f = _clock.Frequency;
        // Observers hear of the measured phase before its window opens (as the engine tells them), so
        // that a sampler's first reading comes before the window's start and its readings bracket it.
        bool announced = _timing.Warmup <= TimeSpan.Zero;
        Observer?.PhaseStarted(announced ? RunPhases.Measuring : RunPhases.WarmUp, _clock.Timestamp);
        long start = _clock.Timestamp;
        long windowStart = start + _clock.FromTimeSpan(_timing.Warmup);
        long windowEnd = windowStart + _clock.FromTimeSpan(_timing.Duration);
        long announceAt = windowStart - Math.Min(_clock.FromTimeSpan(AnnounceLead), (windowStart - start) / 2);
        var accounting = new AgentAccounting(f, windowStart, _options.MaxBatch, _options.Workers) { Live = Live };
        var coordinator = new AgentCoordinator(_jobs, _options, this, accounting);
        long graceTicks = _clock.FromTimeSpan(_toolTimeout + _timing.HangGrace);

        _llm.Observe(this);
        for (int w = 0; w < _workers.Length; w++)
        {
            _workers[w] = new Worker(this, w, 0);
        }

        bool windowOpen = false, cancelled = false;
        string? aborted = null;
        TimeSpan cpu0 = TimeSpan.Zero, children0 = TimeSpan.Zero;
        long cpuStart = windowStart;
        DateTime wall0 = _clock.UtcNow;
        DateTime startedUtc = wall0;
        TimeSpan cpu, children, wallWindow, deviceCpu;
        long monotonicWindow, clockUncertainty = 0;
        var batch = new List<HostEvent>();
        try
        {
            // Not under the event lock: the endpoint calls back under its own lock, and posts take this one.
            coordinator.Start(start);

            while (true)
            {
                batch.Clear();
                lock (_gate)
                {
                    while (_events.Count > 0)
                    {
                        batch.Add(_events.Dequeue());
                    }
                }

                foreach (HostEvent e in batch)
                {
                    aborted ??= Handle(coordinator, e);
                }

                long now = _clock.Timestamp;
                coordinator.OnTime(now);
                if (coordinator.Refusal is not null)
                {
                    aborted ??= "a step did not fit the LLM's context";
                }

                if (!announced && now >= announceAt)
                {
                    announced = true;
                    Observer?.PhaseStarted(RunPhases.Measuring, now);
                }

                if (!windowOpen && now >= windowStart)
                {
                    windowOpen = true;
                    // The two clocks read together: the clock rule compares the spans they give.
                    ClockPair opened = _clock.ReadBoth();
                    (cpuStart, wall0, clockUncertainty) = (opened.Timestamp, opened.Utc, opened.UncertaintyTicks);
                    startedUtc = wall0;
                    (cpu0, children0) = (CpuTime.ProcessWithChildren(), CpuTime.Children());
                }

                if (cancellationToken.IsCancellationRequested)
                {
                    cancelled = true;
                    windowEnd = Math.Max(windowStart, now);
                }

                if (now >= windowEnd || aborted is not null)
                {
                    windowEnd = Math.Min(windowEnd, now);
                    break;
                }

                long wake = Math.Min(windowEnd, coordinator.NextWake ?? long.MaxValue);
                if (!windowOpen)
                {
                    wake = Math.Min(wake, announced ? windowStart : announceAt);
                }

                for (int w = 0; w < _workers.Length; w++)
                {
                    if (coordinator.OnWorker[w] is { } t)
                    {
                        long deadline = t.DispatchedTimestamp + graceTicks;
                        if (now >= deadline)
                        {
                            aborted ??= Hung(coordinator, w, t, now);
                        }
                        else
                        {
                            wake = Math.Min(wake, deadline);
                        }
                    }
                }

                lock (_gate)
                {
                    if (_events.Count == 0 && aborted is null)
                    {
                        double ms = (wake - _clock.Timestamp) * 1000.0 / f;
                        if (ms > 0)
                        {
                            Monitor.Wait(_gate, TimeSpan.FromMilliseconds(Math.Min(ms, 250)));
                        }
                    }
                }
            }
        }
        finally
        {
            ClockPair closed = _clock.ReadBoth();
            (long end, DateTime wallEnd) = (closed.Timestamp, closed.Utc);
            clockUncertainty += closed.UncertaintyTicks;
            coordinator.Stop(Math.Min(end, windowEnd));
            if (!windowOpen)
            {
                (cpu0, children0, cpuStart) = (CpuTime.ProcessWithChildren(), CpuTime.Children(), end);
            }

            cpu = CpuTime.ProcessWithChildren() - cpu0;
            deviceCpu = _llm.DriverCpu;
            children = CpuTime.Children() - children0;
            wallWindow = windowOpen ? wallEnd - wall0 : TimeSpan.Zero; // a run cancelled in its warm-up measured nothing
            monotonicWindow = end - cpuStart;
            Shutdown();
            Observer?.PhaseStarted(RunPhases.Done, Math.Min(end, windowEnd));
        }

        return new AgentRunOutcome(
            accounting, _options, _llm.Batching, _llm.MaxBatch > 0 ? _llm.MaxBatch : _options.MaxBatch, startedUtc,
            wallWindow, monotonicWindow, cpu, children, Environment.ProcessorCount,
            cancelled, aborted, _abandoned)
        {
            LlmDriverCpu = deviceCpu,
            ClockUncertaintyTicks = clockUncertainty,
            Context = coordinator.Context,
            Backoffs = coordinator.Backoffs,
            Refusal = coordinator.Refusal,
        };
    }

    /// <summary>
    /// How long before the window opens its observers are told (at most half the warm-up): ample, since a
    /// coordinator starved of CPU by a server on the same cores was seen to wake 0.6 s late.
    /// </summary>
    private static readonly TimeSpan AnnounceLead = TimeSpan.FromSeconds(1);

    void IAgentHost.StartTool(int worker, ToolTicket ticket) => _workers[worker].Assign(ticket);

    void IAgentHost.SubmitStep(AgentStep step) => _llm.Submit(step.Request, step);

    void IAgentHost.StepCompleted(AgentStep step, long end) => Post(new HostEvent(EventKind.StepDone, 0, 0, null, null, step, 0, 0, end, null));

    /// <summary>A remote request that failed (HTTP error, reset, timeout) fails its turn and the run goes on; an in-process device that failed ends the run.</summary>
    void IAgentHost.StepFailed(AgentStep step, Exception error) =>
        Post(_options.RemoteLlm
            ? new HostEvent(EventKind.StepFailed, 0, 0, null, null, step, 0, 0, _clock.Timestamp, error)
            : new HostEvent(EventKind.LlmFailed, 0, 0, null, null, null, 0, 0, 0, error));

    void IDeviceObserver.IterationStarted(int sequences, long start) =>
        Post(new HostEvent(EventKind.IterationStarted, sequences, 0, null, null, null, 0, start, 0, null));

    void IDeviceObserver.IterationDone(int joining, int decoded, int prefillTokens, long start, long end) =>
        Post(new HostEvent(EventKind.IterationDone, joining, decoded, null, null, null, prefillTokens, start, end, null));

    private string? Handle(AgentCoordinator coordinator, HostEvent e)
    {
        long now = _clock.Timestamp;
        switch (e.Kind)
        {
            case EventKind.ToolDone:
                if (_workers[e.Slot].Generation == e.Generation)
                {
                    coordinator.OnToolDone(e.Slot, e.Ticket!, e.Result!, now);
                }

                return null;
            case EventKind.StepDone:
                coordinator.OnStepDone(e.Step!, e.End, now);
                return null;
            case EventKind.StepFailed:
                coordinator.OnStepFailed(e.Step!, e.Error!.Message, e.End, now);
                return null;
            case EventKind.IterationStarted:
                coordinator.OnIterationStarted(e.Slot, e.Start);
                return null;
            case EventKind.IterationDone:
                coordinator.OnIterationDone(e.Slot, e.Generation, e.Tokens, e.Start, e.End);
                return null;
            default:
                return $"the LLM device failed: {e.Error!.GetType().Name}: {e.Error.Message}";
        }
    }

    private string? Hung(AgentCoordinator coordinator, int slot, ToolTicket ticket, long now)
    {
        Worker old = _workers[slot];
        old.Abandon();
        _abandoned++;
        _workers[slot] = new Worker(this, slot, old.Generation + 1);
        var result = new ToolResult(
            ToolOutcome.Hung,
            $"still running {_timing.HangGrace.TotalSeconds:0.#} s after its {_toolTimeout.TotalSeconds:0.###} s timeout; its worker was replaced",
            8, ticket.DispatchedTimestamp, now, TimeSpan.Zero);
        coordinator.OnToolDone(slot, ticket, result, now);
        return _abandoned > MaxAbandonedWorkers
            ? $"{_abandoned} tool calls hung past their timeout (at most {MaxAbandonedWorkers} tolerated)"
            : null;
    }

    private void Post(HostEvent e)
    {
        lock (_gate)
        {
            _events.Enqueue(e);
            Monitor.Pulse(_gate);
        }
    }

    private void Shutdown()
    {
        _runCts.Cancel();
        foreach (Worker w in _workers)
        {
            w?.Stop();
        }

        // Bounded joins: a tool that ignores cancellation is left behind on its background thread.
        TimeSpan bound = _toolTimeout + _timing.HangGrace;
        DateTime until = DateTime.UtcNow + bound;
        foreach (Worker w in _workers)
        {
            w?.Join(until);
        }

        _runCts.Dispose();
    }

    private enum EventKind
    {
        ToolDone,
        StepDone,
        StepFailed,
        IterationStarted,
        IterationDone,
        LlmFailed,
    }

    /// <summary>
    /// A counting wake-up without spinning (SemaphoreSlim spins before it blocks, which burns the
    /// CPU the tools are measured on): at most one waiter, the thread that owns it.
    /// </summary>
    private sealed class Signal
    {
        private readonly object _gate = new();
        private int _count;

        public void Release()
        {
            lock (_gate)
            {
                _count++;
                Monitor.Pulse(_gate);
            }
        }

        public void Wait()
        {
            lock (_gate)
            {
                while (_count == 0)
                {
                    Monitor.Wait(_gate);
                }

                _count--;
            }
        }
    }

    /// <summary>One completion for the coordinator; Slot and Generation carry an iteration's joining and decoded counts.</summary>
    private readonly record struct HostEvent(EventKind Kind, int Slot, int Generation, ToolTicket? Ticket, ToolResult? Result, AgentStep? Step, int Tokens, long Start, long End, Exception? Error);

    /// <summary>A dedicated tool thread; replaced (never reused) when its call hangs.</summary>
    private sealed class Worker
    {
        private readonly AgentRunner _runner;
        private readonly Signal _signal = new();
        private readonly Thread _thread;
        private ToolTicket? _assigned;
        private volatile bool _exit;

        public Worker(AgentRunner runner, int slot, int generation)
        {
            _runner = runner;
            Slot = slot;
            Generation = generation;
            _thread = new Thread(Loop) { IsBackground = true, Name = $"harness-tool-{slot}.{generation}" };
            _thread.Start();
        }

        public int Slot { get; }

        public int Generation { get; }

        public void Assign(ToolTicket ticket)
        {
            _assigned = ticket;
            _signal.Release();
        }

        /// <summary>Lets the thread end once its hung call returns, if ever; its result is ignored (stale generation).</summary>
        public void Abandon()
        {
            _exit = true;
            _signal.Release();
        }

        public void Stop()
        {
            _exit = true;
            _signal.Release();
        }

        public void Join(DateTime until)
        {
            TimeSpan left = until - DateTime.UtcNow;
            _thread.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }

        private void Loop()
        {
            AgentRunner r = _runner;
            while (true)
            {
                _signal.Wait();
                if (_exit)
                {
                    return;
                }

                ToolTicket t = _assigned!;
                IAgentTool tool = r._tools.Get(t.Call.Tool);
                ToolResult result = ToolRunner.Run(tool, t.Call, Slot, r._toolTimeout, r._clock, r._runCts.Token);
                r.Post(new HostEvent(EventKind.ToolDone, Slot, Generation, t, result, null, 0, 0, 0, null));
            }
        }
    }
}
