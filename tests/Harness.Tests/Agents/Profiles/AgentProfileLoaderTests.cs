using Harness.Agents.Profiles;

namespace Harness.Tests.Agents.Profiles;

public class AgentProfileLoaderTests
{
    [Fact]
    public void Parses_every_field_of_a_profile()
    {
        AgentProfile p = AgentTestProfiles.Parse("""
            {
              "name": "x", "agents": 12, "max_batch": 8, "prefix_caching": false, "max_context_tokens": 4096,
              "turns": { "uniform": [2, 4] }, "initial_prompt_tokens": 500, "decode_tokens": 50, "tool_calls_per_turn": 1,
              "parallel_tool_calls": true, "tool_timeout_ms": 1500, "on_tool_failure": "end_job", "max_tool_output_tokens": 64,
              "tools": [ { "tool": "grep", "weight": 2, "variants": { "errors": 1 }, "args": { "corpus_kb": 64 } } ],
              "exec": { "allow": [ { "name": "wc", "command": "wc", "args": ["-l"] } ], "max_output_kb": 8, "sandbox": "none" },
              "sources": { "turns": "a paper" }
            }
            """);
        Assert.Equal(("x", 12, 8, false, 4096), (p.Name, p.Agents, p.MaxBatch, p.PrefixCaching, p.MaxContextTokens));
        Assert.True(p.ParallelToolCalls);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), p.ToolTimeout);
        Assert.Equal(ToolFailurePolicy.EndJob, p.OnToolFailure);
        Assert.Equal("errors", Assert.Single(p.Tools).Variants[0].Key);
        Assert.Equal(new ExecCommand("wc", "wc", ["-l"]).Name, Assert.Single(p.Exec.Allow).Name);
        Assert.Equal(8 * 1024, p.Exec.MaxOutputBytes);
        Assert.Equal("a paper", p.Sources["turns"]);
        Assert.InRange(p.MeanTurnsPerJob, 2.9, 3.1);
    }

    [Theory]
    [InlineData("""{ "turns": 1, "initial_prompt_tokens": 1, "decode_tokens": 1, "tools": [], "agentz": 3 }""", "agentz is not a known profile key")]
    [InlineData("""{ "initial_prompt_tokens": 1, "decode_tokens": 1, "tools": [] }""", "needs \"turns\"")]
    [InlineData("""{ "turns": 1, "initial_prompt_tokens": 1, "decode_tokens": 1, "on_tool_failure": "panic", "tools": [] }""", "expected continue or end_job")]
    [InlineData("""{ "turns": 1, "initial_prompt_tokens": 1, "decode_tokens": 1, "tools": [ { "tool": "grep", "wieght": 1 } ] }""", "not a known tool-entry key")]
    [InlineData("""{ "turns": 1, "initial_prompt_tokens": 1, "decode_tokens": 1, "tools": [], "exec": { "sandbox": "docker" } }""", "expected auto, unshare or none")]
    public void Mistakes_are_named(string json, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => AgentTestProfiles.Parse(json));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void An_unknown_name_lists_where_it_looked()
    {
        var e = Assert.Throws<HarnessException>(() => AgentProfileLoader.Load("no-such-profile"));
        Assert.Contains("no-such-profile", e.Message);
        Assert.Contains(AgentProfileLoader.Folder, e.Message);
    }
}
