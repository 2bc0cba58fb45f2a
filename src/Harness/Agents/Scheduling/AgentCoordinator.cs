using Harness.Agents.Jobs;
using Harness.Agents.Llm;
using Harness.Agents.Profiles;
using Harness.Agents.Tools;

namespace Harness.Agents.Scheduling;

/// <summary>
/// The agent scheduler's logic, without threads or clocks of its own: N agents each loop over the
/// turns of their tasks (an LLM step, then its tool calls); tool calls wait in one FIFO queue for
/// W workers; LLM steps wait for the device, which batches them (continuously or statically, after
/// a short window). Hosts call the <c>On...</c> methods with the times things happened and carry out
/// what the coordinator starts through <see cref="IAgentHost"/>. Single-threaded: the host serializes
/// every call. All measurements go to <see cref="Accounting"/>.
/// </summary>
public sealed class AgentCoordinator
{
    /// <summary>Tokens assumed per earlier tool call when an agent starts in the middle of a task.</summary>
    private const int StaggerTokensPerCall = 256;

    private readonly JobGenerator _jobs;
    private readonly AgentProfile _profile;
    private readonly AgentSchedulerOptions _options;
    private readonly IAgentHost _host;
    private readonly Agent[] _agents;
    private readonly Queue<ToolTicket> _toolQueue = new();
    private readonly Stack<int> _idleWorkers = new();
    private readonly ToolTicket?[] _onWorker;
    private readonly Queue<LlmSequence> _waiting = new();
    private readonly List<LlmSequence> _running = new();
    private readonly List<LlmSequence> _joining = new();
    private readonly List<LlmSequence> _finished = new();
    private readonly int _maxBatch;
    private readonly bool _continuous;
    private readonly long _windowTicks;
    private bool _deviceBusy;
    private int _deviceOpSequences;
    private long _deviceOpStart;
    private bool _stopped;

    public AgentCoordinator(JobGenerator jobs, AgentSchedulerOptions options, ILlmStepExecutor llm, IAgentHost host, AgentAccounting accounting, long frequency)
    {
        options.Validate();
        _jobs = jobs;
        _profile = jobs.Profile;
        _options = options;
        _host = host;
        Accounting = accounting;
        _maxBatch = Math.Min(options.MaxBatch, llm.MaxBatch);
        _continuous = options.Batching == LlmBatching.Continuous && llm.SupportsJoining;
        _windowTicks = (long)(options.BatchWindow.TotalSeconds * frequency);
        _agents = new Agent[options.Agents];
        _onWorker = new ToolTicket?[options.Workers];
        for (int w = options.Workers - 1; w >= 0; w--)
        {
            _idleWorkers.Push(w);
        }
    }

    public AgentAccounting Accounting { get; }

    /// <summary>Batching in effect: continuous only when asked for and the device supports joining.</summary>
    public LlmBatching Batching => _continuous ? LlmBatching.Continuous : LlmBatching.Static;

    public int MaxBatch => _maxBatch;

    /// <summary>When the coordinator wants <see cref="OnTimer"/> (a batch window ends); null when it waits for nothing.</summary>
    public long? NextTimer { get; private set; }

    /// <summary>The call on each worker, null when idle (the host's watchdog reads it).</summary>
    public IReadOnlyList<ToolTicket?> OnWorker => _onWorker;

    public int QueuedToolCalls => _toolQueue.Count;

    public void Start(long now)
    {
        for (int a = 0; a < _agents.Length; a++)
        {
            var agent = new Agent(a);
            _agents[a] = agent;
            AgentJob job = _jobs.Create(a, 0);
            int first = _options.StaggerStart ? new Random(Seeds.Mix(_options.Seed, a, 7)).Next(job.Turns.Count) : 0;
            BeginJob(agent, job, first, now);
            int context = job.InitialPromptTokens;
            for (int t = 0; t < first; t++)
            {
                context += job.Turns[t].DecodeTokens + (job.Turns[t].Calls.Count * StaggerTokensPerCall);
            }

            agent.Context = Math.Min(context, _profile.MaxContextTokens);
            // Steady state: what came before is cached, only the previous turn's tool outputs are new.
            agent.NewTokens = first == 0 ? agent.Context : job.Turns[first - 1].Calls.Count * StaggerTokensPerCall;
        }

        foreach (Agent agent in _agents)
        {
            SubmitStep(agent, now);
        }

        ScheduleDevice(now);
    }

    /// <summary>The device finished the iteration it was given, which ran from <paramref name="start"/> to <paramref name="end"/>.</summary>
    public void OnDeviceDone(long start, long end, long now)
    {
        if (!_deviceBusy)
        {
            throw new InvalidOperationException("device done while idle");
        }

        _deviceBusy = false;
        if (_stopped)
        {
            return;
        }

        _finished.Clear();
        int decoded = _running.Count;
        for (int i = _running.Count - 1; i >= 0; i--)
        {
            LlmSequence s = _running[i];
            s.Produced++;
            if (s.Done)
            {
                _finished.Add(s);
                _running.RemoveAt(i);
            }
        }

        int tokens = 0;
        foreach (LlmSequence s in _joining)
        {
            tokens += s.PrefillTokens;
            s.Produced = 1;
            s.FirstTokenTimestamp = end;
            (s.Done ? _finished : _running).Add(s);
        }

        Accounting.Device(_joining.Count, decoded, tokens, start, end);
        _joining.Clear();

        // Finished steps go to their tools first, then the device takes what waits.
        foreach (LlmSequence s in _finished)
        {
            _host.Release(s);
            Accounting.Step(s, end);
            StepDone(_agents[s.Agent], end, now);
        }

        ScheduleDevice(now);
    }

    public void OnToolDone(int worker, ToolTicket ticket, ToolResult result, long now)
    {
        if (!ReferenceEquals(_onWorker[worker], ticket))
        {
            throw new InvalidOperationException($"worker {worker} reported a call it was not running");
        }

        _onWorker[worker] = null;
        _idleWorkers.Push(worker);
        if (_stopped)
        {
            return;
        }

        int tokens = Math.Min(result.OutputTokens, _profile.MaxToolOutputTokens);
        Accounting.Tool(ticket, result, tokens);
        Agent agent = _agents[ticket.Agent];
        agent.NewTokens += tokens;
        agent.Context = Math.Min(agent.Context + tokens, _profile.MaxContextTokens);
        if (!result.Ok)
        {
            agent.TurnFailed = true;
        }

        IReadOnlyList<ToolCallPlan> calls = agent.Job.Turns[agent.Turn].Calls;
        bool abandon = agent.TurnFailed && _profile.OnToolFailure == ToolFailurePolicy.EndJob;
        if (_profile.ParallelToolCalls)
        {
            if (--agent.Outstanding == 0)
            {
                EndTurn(agent, now);
            }
        }
        else if (agent.NextCall < calls.Count && !abandon)
        {
            Enqueue(agent, calls[agent.NextCall++], now);
        }
        else
        {
            EndTurn(agent, now);
        }

        DispatchTools(now);
        ScheduleDevice(now);
    }

    /// <summary>A batch window may have ended.</summary>
    public void OnTimer(long now)
    {
        if (!_stopped)
        {
            ScheduleDevice(now);
        }
    }

    /// <summary>Ends the run at <paramref name="now"/>: closes the window, counting work still in flight up to it, and starts nothing more.</summary>
    public void Stop(long now)
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        NextTimer = null;
        Accounting.Close(now);
        if (_deviceBusy)
        {
            Accounting.DeviceInFlight(_deviceOpSequences, _deviceOpStart, now);
        }

        foreach (ToolTicket? t in _onWorker)
        {
            if (t is not null)
            {
                Accounting.WorkerInFlight(t.DispatchedTimestamp, now);
            }
        }
    }

    private void BeginJob(Agent agent, AgentJob job, int turn, long now)
    {
        agent.Job = job;
        agent.Turn = turn;
        agent.JobStart = now;
        agent.Fresh = turn == 0;
        agent.JobFailed = false;
    }

    private void SubmitStep(Agent agent, long now)
    {
        var s = new LlmSequence
        {
            Agent = agent.Index,
            PrefillTokens = Math.Max(1, _profile.PrefixCaching ? agent.NewTokens : agent.Context),
            ContextTokens = agent.Context,
            DecodeTokens = agent.Job.Turns[agent.Turn].DecodeTokens,
            SubmitTimestamp = now,
        };
        agent.NewTokens = 0;
        agent.TurnFailed = false;
        agent.StepSubmit = now;
        _waiting.Enqueue(s);
    }

    private void StepDone(Agent agent, long end, long now)
    {
        TurnPlan turn = agent.Job.Turns[agent.Turn];
        agent.LlmDone = end;
        agent.Context = Math.Min(agent.Context + turn.DecodeTokens, _profile.MaxContextTokens);
        if (turn.Calls.Count == 0)
        {
            EndTurn(agent, now);
        }
        else if (_profile.ParallelToolCalls)
        {
            agent.Outstanding = turn.Calls.Count;
            foreach (ToolCallPlan c in turn.Calls)
            {
                Enqueue(agent, c, now);
            }
        }
        else
        {
            agent.NextCall = 1;
            Enqueue(agent, turn.Calls[0], now);
        }

        DispatchTools(now);
    }

    private void EndTurn(Agent agent, long now)
    {
        Accounting.Turn(agent.StepSubmit, agent.LlmDone, now, agent.TurnFailed);
        agent.JobFailed |= agent.TurnFailed && _profile.OnToolFailure == ToolFailurePolicy.EndJob;
        agent.Turn++;
        if (agent.Turn >= agent.Job.Turns.Count || agent.JobFailed)
        {
            Accounting.Job(agent.JobStart, now, agent.Fresh, agent.JobFailed);
            BeginJob(agent, _jobs.Create(agent.Index, agent.Job.Index + 1), 0, now);
            // A new task: a new conversation whose prompt is all new tokens.
            agent.Context = Math.Min(agent.Job.InitialPromptTokens, _profile.MaxContextTokens);
            agent.NewTokens = agent.Context;
        }

        SubmitStep(agent, now);
    }

    private void Enqueue(Agent agent, ToolCallPlan call, long now) =>
        _toolQueue.Enqueue(new ToolTicket { Agent = agent.Index, Call = call, EnqueuedTimestamp = now });

    private void DispatchTools(long now)
    {
        while (_toolQueue.Count > 0 && _idleWorkers.Count > 0 && !_stopped)
        {
            int w = _idleWorkers.Pop();
            ToolTicket t = _toolQueue.Dequeue();
            t.DispatchedTimestamp = now;
            t.Worker = w;
            _onWorker[w] = t;
            _host.StartTool(w, t);
        }
    }

    private void ScheduleDevice(long now)
    {
        NextTimer = null;
        if (_deviceBusy || _stopped)
        {
            return;
        }

        int free = _continuous ? _maxBatch - _running.Count : (_running.Count == 0 ? _maxBatch : 0);
        if (_waiting.Count > 0 && free > 0)
        {
            long due = _waiting.Peek().SubmitTimestamp + _windowTicks;
            if (_waiting.Count >= free || now >= due)
            {
                int budget = _options.MaxPrefillTokens;
                while (_joining.Count < free && _waiting.Count > 0 && (_joining.Count == 0 || _waiting.Peek().PrefillTokens <= budget))
                {
                    LlmSequence s = _waiting.Dequeue();
                    s.AdmitTimestamp = now;
                    budget -= s.PrefillTokens;
                    _joining.Add(s);
                }
            }
            else
            {
                NextTimer = due;
            }
        }

        if (_joining.Count > 0 || _running.Count > 0)
        {
            _deviceBusy = true;
            _deviceOpSequences = _joining.Count + _running.Count;
            _deviceOpStart = now;
            _host.StartIteration(_joining, _running);
        }
    }

    private sealed class Agent(int index)
    {
        public int Index { get; } = index;

        public AgentJob Job { get; set; } = null!;

        public int Turn { get; set; }

        public bool Fresh { get; set; }

        public long JobStart { get; set; }

        public bool JobFailed { get; set; }

        /// <summary>Tokens in the conversation so far.</summary>
        public int Context { get; set; }

        /// <summary>Tokens added since the last step (tool outputs, or a new prompt): what a prefix cache must still prefill.</summary>
        public int NewTokens { get; set; }

        public long StepSubmit { get; set; }

        public long LlmDone { get; set; }

        public int NextCall { get; set; }

        public int Outstanding { get; set; }

        public bool TurnFailed { get; set; }
    }
}
