using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Tools;
using Harness.Decoding;

namespace Harness.Agents.Scheduling;

/// <summary>
/// The agent scheduler's logic, without threads or clocks of its own: N agents each loop over the
/// turns of their tasks (an LLM step, then its tool calls); tool calls wait in one FIFO queue for
/// W workers; LLM steps are requests to an LLM endpoint (<see cref="ILlmEndpoint"/>), which queues
/// and batches them itself. Hosts call the <c>On...</c> methods with the times things happened and
/// carry out what the coordinator starts through <see cref="IAgentHost"/>. Single-threaded: the host
/// serializes every call. All measurements go to <see cref="Accounting"/>.
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
    private int? _iterationSequences;
    private long _iterationStart;
    private bool _stopped;

    public AgentCoordinator(JobGenerator jobs, AgentSchedulerOptions options, IAgentHost host, AgentAccounting accounting)
    {
        options.Validate();
        _jobs = jobs;
        _profile = jobs.Profile;
        _options = options;
        _host = host;
        Accounting = accounting;
        _agents = new Agent[options.Agents];
        _onWorker = new ToolTicket?[options.Workers];
        for (int w = options.Workers - 1; w >= 0; w--)
        {
            _idleWorkers.Push(w);
        }
    }

    public AgentAccounting Accounting { get; }

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
    }

    /// <summary>The endpoint's device started an iteration of <paramref name="sequences"/> sequences (in-process endpoints only).</summary>
    public void OnIterationStarted(int sequences, long start)
    {
        _iterationSequences = sequences;
        _iterationStart = start;
    }

    /// <summary>The endpoint's device ended an iteration (in-process endpoints only).</summary>
    public void OnIterationDone(int joining, int decoded, int prefillTokens, long start, long end)
    {
        _iterationSequences = null;
        if (!_stopped)
        {
            Accounting.Device(joining, decoded, prefillTokens, start, end);
        }
    }

    /// <summary>The step's last token arrived at <paramref name="end"/>: its tool calls go to the queue.</summary>
    public void OnStepDone(AgentStep step, long end, long now)
    {
        if (_stopped)
        {
            return;
        }

        Accounting.Step(step, end);
        StepDone(_agents[step.Agent], end, now);
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
    }

    /// <summary>Ends the run at <paramref name="now"/>: closes the window, counting work still in flight up to it, and starts nothing more.</summary>
    public void Stop(long now)
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        Accounting.Close(now);
        if (_iterationSequences is { } inFlight)
        {
            Accounting.DeviceInFlight(inFlight, _iterationStart, now);
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
        var request = new LlmRequest
        {
            PromptTokens = Math.Max(1, _profile.PrefixCaching ? agent.NewTokens : agent.Context),
            MaxNewTokens = agent.Job.Turns[agent.Turn].DecodeTokens,
        };
        agent.NewTokens = 0;
        agent.TurnFailed = false;
        agent.StepSubmit = now;
        _host.SubmitStep(new AgentStep(agent.Index, request, now, _host));
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
