using Harness.Engine.Scenarios;

namespace Harness.Agents.Reporting;

/// <summary>
/// The scenario name and tail target of an agent run in its result file. Agent runs are driven by
/// the agent scheduler, not by the engine's phase driver, so <see cref="Run"/> is never called.
/// </summary>
public sealed class AgentScenario(int agents, int workers) : IScenario
{
    public string Name { get; } = NameOf(agents, workers);

    /// <summary>The scenario's name for a mix of <paramref name="agents"/> agents on <paramref name="workers"/> tool workers.</summary>
    public static string NameOf(int agents, int workers) => $"agents:{agents},workers:{workers}";

    public int Workers { get; } = agents;

    /// <summary>p90 of turn latency, as for single-stream runs.</summary>
    public double? TargetTail => 0.90;

    public void Run(IPhaseDriver driver) =>
        throw new NotSupportedException("agent runs are driven by the agent scheduler (AgentRunner), not by the engine");
}
