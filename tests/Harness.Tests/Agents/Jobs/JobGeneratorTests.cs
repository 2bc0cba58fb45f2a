using Harness.Agents.Jobs;
using Harness.Agents.Profiles;

namespace Harness.Tests.Agents.Jobs;

public class JobGeneratorTests
{
    private static readonly AgentProfile Profile = AgentTestProfiles.Parse("""
        {
          "name": "mix", "turns": { "uniform": [3, 9] }, "initial_prompt_tokens": { "uniform": [100, 200] },
          "decode_tokens": { "lognormal": { "median": 50, "p90": 200 } }, "tool_calls_per_turn": { "choice": { "1": 1, "2": 1 } },
          "tools": [ { "tool": "a", "weight": 3, "variants": { "x": 1, "y": 1 }, "args": { "size": { "uniform": [1, 100] } } }, { "tool": "b", "weight": 1 } ]
        }
        """);

    [Fact]
    public void The_same_agent_and_index_give_the_same_job_whatever_came_before()
    {
        var g1 = new JobGenerator(Profile, 42);
        var g2 = new JobGenerator(Profile, 42);
        _ = g2.Create(0, 0);
        _ = g2.Create(5, 3);
        Assert.Equal(Describe(g1.Create(3, 7)), Describe(g2.Create(3, 7)));
    }

    [Fact]
    public void Seeds_and_agents_change_the_jobs()
    {
        var g = new JobGenerator(Profile, 42);
        Assert.NotEqual(Describe(g.Create(0, 0)), Describe(g.Create(1, 0)));
        Assert.NotEqual(Describe(g.Create(0, 0)), Describe(new JobGenerator(Profile, 43).Create(0, 0)));
    }

    [Fact]
    public void The_last_turn_answers_without_tools_and_the_mix_follows_the_weights()
    {
        var g = new JobGenerator(Profile, 1);
        var calls = new List<ToolCallPlan>();
        for (int j = 0; j < 200; j++)
        {
            AgentJob job = g.Create(0, j);
            Assert.Empty(job.Turns[^1].Calls);
            Assert.InRange(job.Turns.Count, 3, 9);
            calls.AddRange(job.Turns.SelectMany(t => t.Calls));
        }

        double shareA = calls.Count(c => c.Tool == "a") / (double)calls.Count;
        Assert.InRange(shareA, 0.70, 0.80);
        Assert.All(calls.Where(c => c.Tool == "a"), c => Assert.Contains(c.Variant, new[] { "x", "y" }));
        Assert.All(calls.Where(c => c.Tool == "a"), c => Assert.InRange(c.Args["size"], 1, 100));
        Assert.Equal(calls.Count, calls.Select(c => c.Seed).Distinct().Count());
    }

    private static string Describe(AgentJob j) =>
        $"{j.InitialPromptTokens}|" + string.Join(";", j.Turns.Select(t => $"{t.DecodeTokens}:{string.Join(",", t.Calls)}"));
}
