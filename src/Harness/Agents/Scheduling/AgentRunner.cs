using Harness.Agents.Jobs;
using Harness.Agents.Llm;
using Harness.Agents.Tools;
using Harness.Engine;
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
    /// <summary>CPU time of the LLM device's driver thread over the whole run (warm-up included: an upper bound for the window).</summary>
    public TimeSpan LlmDriverCpu { get; init; }
}

/// <summary>
/// Runs agents for real: the calling thread coordinates; W dedicated threads run tool calls; one
/// thread drives the LLM device. Completions come back through one event queue, so the coordinator
/// stays single-threaded. A watchdog replaces the worker of a call that outlives its timeout by the
/// grace period (the call is recorded as hung and abandoned on its thread); too many hung calls, or a
/// failing LLM device, end the run early with the reason. The run never waits on a tool without a
/// bound: at its end, tools are cancelled and waited for at most their timeout plus the grace.
/// </summary>
public sealed class AgentRunner : IAgentHost
{
    private readonly JobGenerator _jobs;
    private readonly ToolSet _tools;
    private readonly ILlmStepExecutor _llm;
    private readonly AgentSchedulerOptions _options;
    private readonly AgentRunTiming _timing;
    private readonly IClock _clock;
    private readonly object _gate = new();
    private readonly Queue<HostEvent> _events = new();
    private readonly Worker[] _workers;
    private readonly CancellationTokenSource _runCts = new();
    private readonly TimeSpan _toolTimeout;
    private DeviceThread? _device;
    private int _abandoned;

    public AgentRunner(JobGenerator jobs, ToolSet tools, ILlmStepExecutor llm, AgentSchedulerOptions options, AgentRunTiming timing, IClock? clock = null)
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

    public AgentRunOutcome Run(CancellationToken cancellationToken = default)
    {
        long f = _clock.Frequency;
        long start = _clock.Timestamp;
        long windowStart = start + _clock.FromTimeSpan(_timing.Warmup);
        long windowEnd = windowStart + _clock.FromTimeSpan(_timing.Duration);
        var accounting = new AgentAccounting(f, windowStart, _options.MaxBatch, _options.Workers);
        var coordinator = new AgentCoordinator(_jobs, _options, _llm, this, accounting, f);
        long graceTicks = _clock.FromTimeSpan(_toolTimeout + _timing.HangGrace);

        _device = new DeviceThread(this);
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
        long monotonicWindow;
        var batch = new List<HostEvent>();
        try
        {
            lock (_gate)
            {
                coordinator.Start(start);
            }

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
                if (!windowOpen && now >= windowStart)
                {
                    windowOpen = true;
                    (cpu0, children0) = (CpuTime.ProcessWithChildren(), CpuTime.Children());
                    // Both clocks back to back (the CPU reads are system calls: a loaded machine can
                    // preempt between them), so the clock rule compares like with like.
                    cpuStart = _clock.Timestamp;
                    wall0 = _clock.UtcNow;
                    startedUtc = wall0;
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

                coordinator.OnTimer(now);
                long wake = Math.Min(windowEnd, coordinator.NextTimer ?? long.MaxValue);
                if (!windowOpen)
                {
                    wake = Math.Min(wake, windowStart);
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
            long end = _clock.Timestamp;
            DateTime wallEnd = _clock.UtcNow; // beside the monotonic end, before anything else runs
            coordinator.Stop(Math.Min(end, windowEnd));
            if (!windowOpen)
            {
                (cpu0, children0, cpuStart, wall0) = (CpuTime.ProcessWithChildren(), CpuTime.Children(), end, wallEnd);
            }

            cpu = CpuTime.ProcessWithChildren() - cpu0;
            deviceCpu = _device?.Cpu ?? TimeSpan.Zero;
            children = CpuTime.Children() - children0;
            wallWindow = wallEnd - wall0;
            monotonicWindow = end - cpuStart;
            Shutdown();
        }

        return new AgentRunOutcome(
            accounting, _options, coordinator.Batching, coordinator.MaxBatch, startedUtc,
            wallWindow, monotonicWindow, cpu, children, Environment.ProcessorCount,
            cancelled, aborted, _abandoned) { LlmDriverCpu = deviceCpu };
    }

    void IAgentHost.StartTool(int worker, ToolTicket ticket) => _workers[worker].Assign(ticket);

    void IAgentHost.StartIteration(IReadOnlyList<LlmSequence> joining, IReadOnlyList<LlmSequence> running) => _device!.Assign(joining, running);

    void IAgentHost.Release(LlmSequence sequence) => _llm.Release(sequence);

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
            case EventKind.DeviceDone:
                coordinator.OnDeviceDone(e.Start, e.End, now);
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
        _device?.Stop();
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

        _device?.Join(DateTime.UtcNow + TimeSpan.FromSeconds(30));
        _runCts.Dispose();
    }

    private enum EventKind
    {
        ToolDone,
        DeviceDone,
        DeviceFailed,
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

    private readonly record struct HostEvent(EventKind Kind, int Slot, int Generation, ToolTicket? Ticket, ToolResult? Result, long Start, long End, Exception? Error);

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
                r.Post(new HostEvent(EventKind.ToolDone, Slot, Generation, t, result, 0, 0, null));
            }
        }
    }

    /// <summary>The thread that runs the LLM device's iterations one after another.</summary>
    private sealed class DeviceThread
    {
        private readonly AgentRunner _runner;
        private readonly Signal _signal = new();
        private readonly Thread _thread;
        private IReadOnlyList<LlmSequence> _joining = [];
        private IReadOnlyList<LlmSequence> _running = [];
        private volatile bool _exit;

        public DeviceThread(AgentRunner runner)
        {
            _runner = runner;
            _thread = new Thread(Loop) { IsBackground = true, Name = "harness-llm-device" };
            _thread.Start();
        }

        /// <summary>CPU time the LLM device's calls took on this thread (its driver's cost, not the scheduler's).</summary>
        public TimeSpan Cpu { get; private set; }

        public void Assign(IReadOnlyList<LlmSequence> joining, IReadOnlyList<LlmSequence> running)
        {
            _joining = joining;
            _running = running;
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
            CancellationToken token = r._runCts.Token;
            while (true)
            {
                _signal.Wait();
                if (_exit)
                {
                    return;
                }

                long start = r._clock.Timestamp;
                TimeSpan cpu0 = CpuTime.CurrentThread();
                try
                {
                    r._llm.Iterate(_joining, _running, token);
                    Cpu += CpuTime.CurrentThread() - cpu0;

                    r.Post(new HostEvent(EventKind.DeviceDone, 0, 0, null, null, start, r._clock.Timestamp, null));
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    r.Post(new HostEvent(EventKind.DeviceFailed, 0, 0, null, null, start, r._clock.Timestamp, e));
                    return;
                }
            }
        }
    }
}
