using Harness.Agents.Jobs;
using Harness.Agents.Llm;

namespace Harness.Agents.Scheduling;

/// <summary>
/// Where the coordinator's decisions are carried out: real threads (<see cref="AgentRunner"/>) or a
/// simulated timeline (<see cref="SimulatedAgentRunner"/>). Each call starts work and returns at once;
/// its end comes back through the coordinator's <c>On...Done</c> methods.
/// </summary>
public interface IAgentHost
{
    /// <summary>Runs a tool call on an idle worker.</summary>
    void StartTool(int worker, ToolTicket ticket);

    /// <summary>Runs one iteration on the idle LLM device (see <see cref="ILlmStepExecutor.Iterate"/>).</summary>
    void StartIteration(IReadOnlyList<LlmSequence> joining, IReadOnlyList<LlmSequence> running);

    /// <summary>A sequence finished (the device is idle while this is called).</summary>
    void Release(LlmSequence sequence);
}

/// <summary>One tool call waiting for or running on a worker.</summary>
public sealed class ToolTicket
{
    public required int Agent { get; init; }

    public required ToolCallPlan Call { get; init; }

    /// <summary>When the agent asked for it (queueing starts).</summary>
    public required long EnqueuedTimestamp { get; init; }

    /// <summary>When the coordinator handed it to a worker.</summary>
    public long DispatchedTimestamp { get; internal set; }

    public int Worker { get; internal set; } = -1;
}
