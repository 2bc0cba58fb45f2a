namespace Harness.Agents.Jobs;

/// <summary>One task of an agent: its first prompt and its turns, fixed by the profile and the seed.</summary>
public sealed record AgentJob(int Agent, int Index, int InitialPromptTokens, IReadOnlyList<TurnPlan> Turns);

/// <summary>One turn: an LLM step that decodes <paramref name="DecodeTokens"/>, then its tool calls.</summary>
public sealed record TurnPlan(int DecodeTokens, IReadOnlyList<ToolCallPlan> Calls);

/// <summary>
/// One tool call as the model would ask for it: which tool, which variant (regex, command, codec...)
/// and which sizes. <paramref name="Seed"/> fixes the data it works on, so a call gives the same
/// output on every run.
/// </summary>
public sealed record ToolCallPlan(string Tool, string? Variant, IReadOnlyDictionary<string, double> Args, int Seed)
{
    /// <summary>An integer argument, or <paramref name="fallback"/> when the profile does not set it.</summary>
    public int Int(string name, int fallback) => Args.TryGetValue(name, out double v) ? (int)Math.Round(v) : fallback;

    public override string ToString() =>
        $"{Tool}{(Variant is null ? "" : ":" + Variant)}({string.Join(", ", Args.Select(a => $"{a.Key}={a.Value:0.##}"))}; seed {Seed})";
}
