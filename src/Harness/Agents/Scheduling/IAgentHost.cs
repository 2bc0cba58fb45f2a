using Harness.Agents.Jobs;

namespace Harness.Agents.Scheduling;

/// <summary>
/// Where the coordinator's decisions are carried out: real threads (<see cref="AgentRunner"/>) or a
/// simulated timeline (<see cref="SimulatedAgentRunner"/>). Each call starts work and returns at once;
/// its end comes back to the coordinator, on its thread, through the <c>On...</c> methods.
/// </summary>
public interface IAgentHost
{
    /// <summary>Runs a tool call on an idle worker.</summary>
    void StartTool(int worker, ToolTicket ticket);

    /// <summary>Sends the step's request to the LLM endpoint, with the step as its stream.</summary>
    void SubmitStep(AgentStep step);

    /// <summary>The step's last token arrived at <paramref name="end"/> (called on the endpoint's thread).</summary>
    void StepCompleted(AgentStep step, long end);

    /// <summary>The step failed (called on the endpoint's thread): a remote request that failed fails its turn; an in-process device that failed ends the run.</summary>
    void StepFailed(AgentStep step, Exception error);
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
