using System.Text.Json;
using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Tools;

namespace Harness.Tests.Agents;

/// <summary>Small profiles built in code for the agent tests.</summary>
public static class AgentTestProfiles
{
    public static AgentProfile Parse(string json) => AgentProfileLoader.Parse(JsonDocument.Parse(json).RootElement, null);

    /// <summary>Every turn: prefill, <paramref name="decode"/> tokens, then <paramref name="calls"/> calls of <paramref name="tool"/>; jobs of <paramref name="turns"/> turns.</summary>
    public static AgentProfile Fixed(string tool = "fake", int turns = 1000, int decode = 5, int calls = 1, int agents = 1, int maxBatch = 1, bool parallel = false, string onFailure = "continue", int timeoutMs = 10_000, int prompt = 100) => Parse($$"""
        {
          "name": "test", "agents": {{agents}}, "max_batch": {{maxBatch}},
          "turns": {{turns}}, "initial_prompt_tokens": {{prompt}}, "decode_tokens": {{decode}}, "tool_calls_per_turn": {{calls}},
          "final_turn_without_tools": false, "parallel_tool_calls": {{(parallel ? "true" : "false")}},
          "on_tool_failure": "{{onFailure}}", "tool_timeout_ms": {{timeoutMs}},
          "tools": [ { "tool": "{{tool}}" } ]
        }
        """);
}

/// <summary>A tool that burns CPU for a set time (cooperative), then returns a fixed text; counts its calls.</summary>
public sealed class SpinTool(string name = "fake", double ms = 5, string text = "ok") : IAgentTool
{
    public int Calls;

    public string Name => name;

    public string Description => "spins";

    public IReadOnlyDictionary<string, string> Parameters { get; } = new Dictionary<string, string>();

    public void Validate(ToolMixEntry entry, AgentProfile profile)
    {
    }

    public void Prepare(ToolEnvironment environment)
    {
    }

    public ToolOutput Invoke(ToolCallPlan call, ToolContext context)
    {
        Interlocked.Increment(ref Calls);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (sw.Elapsed.TotalMilliseconds < ms)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
        }

        return new ToolOutput(text);
    }

    public void Dispose()
    {
    }
}

/// <summary>Throws, hangs ignoring cancellation until released, or waits cooperatively past its timeout.</summary>
public sealed class FaultTool(string name, string mode) : IAgentTool
{
    public ManualResetEventSlim Release { get; } = new(false);

    public int Calls;

    public string Name => name;

    public string Description => mode;

    public IReadOnlyDictionary<string, string> Parameters { get; } = new Dictionary<string, string>();

    public void Validate(ToolMixEntry entry, AgentProfile profile)
    {
    }

    public void Prepare(ToolEnvironment environment)
    {
    }

    public ToolOutput Invoke(ToolCallPlan call, ToolContext context)
    {
        Interlocked.Increment(ref Calls);
        switch (mode)
        {
            case "throw":
                throw new InvalidOperationException("disk on fire");
            case "hang":
                Release.Wait(); // ignores the timeout on purpose
                return new ToolOutput("late");
            default:
                context.CancellationToken.WaitHandle.WaitOne();
                context.CancellationToken.ThrowIfCancellationRequested();
                return new ToolOutput("never");
        }
    }

    public void Dispose() => Release.Set();
}
