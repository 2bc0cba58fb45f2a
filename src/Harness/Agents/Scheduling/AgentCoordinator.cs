using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Tools;
using Harness.Datasets;
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
    private readonly List<Agent> _backingOff = new();
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
        Context = new ContextWindow(options.ContextPolicy, options.ContextTokens, options.ContextSource);
        _agents = new Agent[options.Agents];
        _onWorker = new ToolTicket?[options.Workers];
        for (int w = options.Workers - 1; w >= 0; w--)
        {
            _idleWorkers.Push(w);
        }
    }

    public AgentAccounting Accounting { get; }

    /// <summary>The LLM's context and what the policy did to keep requests in it.</summary>
    public ContextWindow Context { get; }

    /// <summary>Set when a step was refused for its length under <see cref="ContextPolicy.Refuse"/>: the run ends with it.</summary>
    public string? Refusal { get; private set; }

    /// <summary>Times agents waited after a failed LLM step.</summary>
    public long Backoffs { get; private set; }

    /// <summary>When the earliest agent waiting after a failed step is due (then the host calls <see cref="OnTime"/>); else null.</summary>
    public long? NextWake => _backingOff.Count == 0 ? null : _backingOff.Min(a => a.WakeAt);

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
            if (agent.Conversation is { } conversation && agent.Context > job.InitialPromptTokens)
            {
                // The turns before the stagger point, as one message of their length.
                conversation.Add(LlmMessage.User(SyntheticText.Of(
                    agent.Context - job.InitialPromptTokens, Seeds.Mix(_options.Seed, a, job.Index, 11), _options.PromptTokenizer)));
            }
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
        Agent agent = _agents[step.Agent];
        agent.Awaiting = false;
        agent.Failures = 0;
        if (_options.RemoteLlm)
        {
            Accounting.RemoteStep(step.SubmitTimestamp, end);
            Context.Observe(step.Request.Messages, step.Record.PromptTokens);
            agent.Conversation?.Add(LlmMessage.Assistant(step.Reply));
        }

        StepDone(agent, end, now);
    }

    /// <summary>
    /// The step's request failed at <paramref name="end"/> (a remote server's error, a reset, the
    /// timeout): its turn and its job fail with the reason, and the agent waits (<see cref="AgentSchedulerOptions.FailureBackoff"/>)
    /// before its next job, so a failing server gets no storm of requests. A step that produced no
    /// token does not count as LLM busy time. A context-length error teaches the context (truncation)
    /// or ends the run (<see cref="ContextPolicy.Refuse"/>, <see cref="Refusal"/>).
    /// </summary>
    public void OnStepFailed(AgentStep step, string reason, long end, long now)
    {
        if (_stopped)
        {
            return;
        }

        Accounting.StepFailed(reason, end);
        Agent agent = _agents[step.Agent];
        agent.Awaiting = false;
        if (_options.RemoteLlm && step.Produced > 0)
        {
            Accounting.RemoteStep(step.SubmitTimestamp, end);
        }

        if (ContextLimit.TryParse(reason) is { } limit)
        {
            if (Context.Policy == ContextPolicy.Refuse)
            {
                Refusal ??= ContextFit.Refusal(_profile, limit);
            }

            Context.Learn(limit, step.Request.Messages, step.Request.MaxNewTokens);
        }

        agent.LlmDone = end;
        agent.TurnFailed = true;
        agent.LlmFailed = true;
        EndTurn(agent, now);
    }

    /// <summary>Sends the steps of the agents whose wait after a failed step is over at <paramref name="now"/>.</summary>
    public void OnTime(long now)
    {
        if (_stopped || _backingOff.Count == 0)
        {
            return;
        }

        foreach (Agent agent in _backingOff.Where(a => a.WakeAt <= now).ToList())
        {
            _backingOff.Remove(agent);
            agent.JobStart = now;
            SubmitStep(agent, now);
        }
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
        if (agent.Conversation is { } conversation)
        {
            // The tool's real output as the agent reads it, cut to the profile's limit (about 4 characters a token).
            string text = result.Text ?? "";
            int max = _profile.MaxToolOutputTokens * 4;
            conversation.Add(LlmMessage.User($"[{ticket.Call.Tool} output]\n{(text.Length > max ? text[..max] : text)}"));
        }
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
        if (_options.RemoteLlm)
        {
            // A step still in flight counts up to the close once it has produced a token; one still
            // waiting for its first (in the server's queue, or about to fail) counts nothing.
            foreach (Agent agent in _agents)
            {
                if (agent is { Awaiting: true, Step.Produced: > 0 })
                {
                    Accounting.RemoteStep(agent.StepSubmit, now);
                }
            }
        }

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
        if (_options.RemoteLlm)
        {
            // A new conversation: the profile's system prompt (the same for every agent, as a real agent's is) and the task.
            int system = job.InitialPromptTokens / 2;
            agent.Conversation =
            [
                LlmMessage.System(SyntheticText.Of(system, Seeds.Mix(_options.Seed, 1), _options.PromptTokenizer)),
                LlmMessage.User(SyntheticText.Of(
                    Math.Max(1, job.InitialPromptTokens - system),
                    Seeds.Mix(_options.Seed, agent.Index, job.Index, 2),
                    _options.PromptTokenizer)),
            ];
        }
    }

    /// <summary>The conversation as sent: the system prompt and the latest messages that fit the profile's context (about 4 characters a token).</summary>
    private IReadOnlyList<LlmMessage> Messages(Agent agent, int maxNew)
    {
        List<LlmMessage> c = agent.Conversation!;
        long budget = (long)_profile.MaxContextTokens * 4;
        long used = c[0].Content.Length;
        int from = c.Count;
        while (from > 1 && used + c[from - 1].Content.Length <= budget)
        {
            used += c[--from].Content.Length;
        }

        if (from > 1)
        {
            c.RemoveRange(1, from - 1); // what no longer fits is dropped for good, as a real agent's context is compacted
        }

        return Context.Fit(c, maxNew);
    }

    private void SubmitStep(Agent agent, long now)
    {
        int maxNew = Context.MaxNewTokens(agent.Job.Turns[agent.Turn].DecodeTokens);
        int prompt = _profile.PrefixCaching ? agent.NewTokens : agent.Context;
        if (agent.Conversation is null)
        {
            // An in-process decoder takes lengths: under truncation the context is cut to fit, and a cut
            // context shares no prefix with the previous step's, so all of it is prefilled.
            agent.Context = Context.FitTokens(agent.Context, maxNew, out bool trimmed);
            prompt = trimmed ? agent.Context : Math.Min(prompt, agent.Context);
        }

        var request = new LlmRequest
        {
            PromptTokens = Math.Max(1, prompt),
            MaxNewTokens = maxNew,
            Messages = agent.Conversation is null ? [] : Messages(agent, maxNew),
        };
        agent.NewTokens = 0;
        agent.TurnFailed = false;
        agent.StepSubmit = now;
        agent.Awaiting = true;
        agent.Step = new AgentStep(agent.Index, request, now, _host);
        _host.SubmitStep(agent.Step);
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
        agent.JobFailed |= agent.LlmFailed || (agent.TurnFailed && _profile.OnToolFailure == ToolFailurePolicy.EndJob);
        agent.Turn++;
        if (agent.Turn >= agent.Job.Turns.Count || agent.JobFailed)
        {
            Accounting.Job(agent.JobStart, now, agent.Fresh, agent.JobFailed);
            BeginJob(agent, _jobs.Create(agent.Index, agent.Job.Index + 1), 0, now);
            // A new task: a new conversation whose prompt is all new tokens.
            agent.Context = Math.Min(agent.Job.InitialPromptTokens, _profile.MaxContextTokens);
            agent.NewTokens = agent.Context;
        }

        if (agent.LlmFailed)
        {
            agent.LlmFailed = false;
            agent.WakeAt = now + Backoff(agent, ++agent.Failures);
            _backingOff.Add(agent);
            Backoffs++;
            return;
        }

        SubmitStep(agent, now);
    }

    /// <summary>
    /// The wait after the agent's <paramref name="failures"/>-th failed step in a row: doubling from the
    /// first, capped, with up to half of it taken off by a seeded jitter.
    /// </summary>
    private long Backoff(Agent agent, int failures)
    {
        double doubled = _options.FailureBackoff.TotalSeconds * Math.Pow(2, Math.Min(30, failures - 1));
        double seconds = Math.Min(_options.MaxFailureBackoff.TotalSeconds, doubled);
        double jitter = new Random(Seeds.Mix(_options.Seed, agent.Index, agent.Job.Index, failures, 13)).NextDouble() / 2;
        return (long)(seconds * (1 - jitter) * Accounting.Frequency);
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

        /// <summary>Whether its LLM step is in flight.</summary>
        public bool Awaiting { get; set; }

        /// <summary>Its latest LLM step.</summary>
        public AgentStep? Step { get; set; }

        /// <summary>Its last LLM step failed: its job ends and it waits before the next.</summary>
        public bool LlmFailed { get; set; }

        /// <summary>Failed LLM steps in a row (the backoff doubles with each).</summary>
        public int Failures { get; set; }

        /// <summary>When its wait after a failed step ends.</summary>
        public long WakeAt { get; set; }

        /// <summary>The messages so far, for a remote LLM; null otherwise.</summary>
        public List<LlmMessage>? Conversation { get; set; }
    }
}
