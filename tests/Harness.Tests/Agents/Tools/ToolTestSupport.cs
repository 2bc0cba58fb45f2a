using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Tools;

namespace Harness.Tests.Agents.Tools;

/// <summary>Prepares one tool the way a run would (seed 42, two workers) and calls it with seed 7.</summary>
public sealed class PreparedTool : IDisposable
{
    private readonly ToolEnvironment _environment;

    public PreparedTool(IAgentTool tool, string execJson = """{ "allow": [ { "name": "wc", "command": "wc", "args": ["-l", "-w", "-c"] } ], "sandbox": "none" }""")
    {
        Tool = tool;
        AgentProfile profile = AgentTestProfiles.Parse($$"""
            { "name": "t", "turns": 1, "initial_prompt_tokens": 1, "decode_tokens": 1, "tools": [ { "tool": "{{tool.Name}}" } ], "exec": {{execJson}} }
            """);
        _environment = new ToolEnvironment(profile, 2, 42);
        tool.Prepare(_environment);
    }

    public IAgentTool Tool { get; }

    public ToolEnvironment Environment => _environment;

    public string Call(string? variant, string args = "", int seed = 7, CancellationToken token = default) =>
        Tool.Invoke(Plan(variant, args, seed), new ToolContext(0, token)).Text;

    public ToolCallPlan Plan(string? variant, string args = "", int seed = 7) => new(
        Tool.Name,
        variant,
        args.Length == 0 ? new Dictionary<string, double>() : args.Split(' ').Select(a => a.Split('=')).ToDictionary(a => a[0], a => double.Parse(a[1], System.Globalization.CultureInfo.InvariantCulture)),
        seed);

    public void Dispose()
    {
        Tool.Dispose();
        _environment.Dispose();
    }
}
