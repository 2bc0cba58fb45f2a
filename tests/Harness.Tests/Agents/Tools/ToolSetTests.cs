using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Tools;

namespace Harness.Tests.Agents.Tools;

/// <summary>Preparing a tool set: one warm-up call per tool and variant, before anything is measured.</summary>
public class ToolSetTests
{
    [Fact]
    public void Prepare_calls_every_tool_and_variant_once_with_the_profiles_arguments()
    {
        AgentProfile profile = AgentTestProfiles.Parse("""
            { "name": "warm", "turns": 3, "initial_prompt_tokens": 10, "decode_tokens": 2,
              "tools": [ { "tool": "a", "variants": { "x": 1, "y": 3 }, "args": { "n": 7 } }, { "tool": "b" } ] }
            """);
        var a = new RecordingTool("a");
        var b = new RecordingTool("b");
        using var tools = new ToolSet([a, b]);
        using var env = new ToolEnvironment(profile, 1, 42);

        tools.Prepare(env);

        Assert.Equal(["x", "y"], a.Calls.Select(c => c.Variant).Order());
        Assert.All(a.Calls, c => Assert.Equal(7, c.Args["n"]));
        Assert.Equal([null], b.Calls.Select(c => c.Variant));
    }

    [Fact]
    public async Task A_tool_that_ignores_its_timeout_does_not_hold_prepare()
    {
        AgentProfile profile = AgentTestProfiles.Fixed(tool: "hang", timeoutMs: 50);
        var hang = new FaultTool("hang", "hang");
        using var tools = new ToolSet([hang]);
        using var env = new ToolEnvironment(profile, 1, 42);

        Task prepare = Task.Run(() => tools.Prepare(env));

        // Prepare gives up after the timeout plus a second; the bound below only catches a Prepare that never returns.
        Assert.True(await Task.WhenAny(prepare, Task.Delay(TimeSpan.FromMinutes(1))) == prepare, "Prepare waited on a hung warm-up call");
        Assert.Equal(1, hang.Calls);
        hang.Release.Set();
    }

    private sealed class RecordingTool(string name) : IAgentTool
    {
        public List<ToolCallPlan> Calls { get; } = [];

        public string Name => name;

        public string Description => "records its calls";

        public IReadOnlyDictionary<string, string> Parameters { get; } = new Dictionary<string, string> { ["n"] = "a number" };

        public void Validate(ToolMixEntry entry, AgentProfile profile)
        {
        }

        public void Prepare(ToolEnvironment environment)
        {
        }

        public ToolOutput Invoke(ToolCallPlan call, ToolContext context)
        {
            lock (Calls)
            {
                Calls.Add(call);
            }

            return new ToolOutput("ok");
        }

        public void Dispose()
        {
        }
    }
}
