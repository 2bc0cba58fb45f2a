using Harness.Agents.Tools;

namespace Harness.Agents.Scheduling;

/// <summary>
/// A live view of an agent run's measured window (the Prometheus export): the events the accounting
/// counts, as they are counted. Called on the coordinator's thread; warm-up events never reach it.
/// </summary>
public interface IAgentObserver
{
    /// <summary>A turn (an LLM step and its tool calls) ended; its latency runs from the step's submission to the last tool's end.</summary>
    void TurnEnded(bool ok, long latencyTicks);

    /// <summary>A tool call ended on its worker after waiting <paramref name="queueTicks"/> for it.</summary>
    void ToolCallEnded(string tool, ToolOutcome outcome, long queueTicks, long serviceTicks);

    /// <summary>A job ended: all its turns, or a failure that ended it.</summary>
    void JobEnded(bool ok);

    /// <summary>
    /// Device time inside the window: <paramref name="slotTicks"/> weighted by the batch slots in use
    /// (what the LLM busy fraction sums), <paramref name="activeTicks"/> plain.
    /// </summary>
    void DeviceTime(double slotTicks, long activeTicks, int tokens);
}
