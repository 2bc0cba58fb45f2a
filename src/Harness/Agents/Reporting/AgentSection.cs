using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Harness.Results;

namespace Harness.Agents.Reporting;

/// <summary>
/// The <c>agents</c> section of a result file (<see cref="AgentRunReport"/>), registered with the results layer
/// (<see cref="ResultSections"/>, which says why by a module initializer), with its line of the terminal summary.
/// </summary>
public static class AgentSection
{
    public const string Key = "agents";

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "Registers a result section of this assembly before any of its code runs: see ResultSections.")]
    internal static void Register() => ResultSections.Register<AgentRunReport>(Key, Summary);

    extension(ResultDocument doc)
    {
        /// <summary>The agent mix's own measures (workload "agents" only).</summary>
        public AgentRunReport? Agents
        {
            get => doc.Section<AgentRunReport>();
            set => doc.SetSection(value);
        }
    }

    /// <summary>The turns in the terminal summary: what a run of requests shows in its first table.</summary>
    private static void Summary(StringBuilder sb, AgentRunReport agents, ResultDocument doc) =>
        sb.Append(CultureInfo.InvariantCulture,
            $"\nTurns: {agents.Turns} ok, {agents.TurnsFailed} failed in {agents.WindowS:0.0} s, {agents.TurnsPerS:0.##} turns/s; "
            + $"{agents.JobsCompleted} jobs completed{(agents.Aborted is { } why ? $"; aborted: {why}" : "")}.\n");
}
