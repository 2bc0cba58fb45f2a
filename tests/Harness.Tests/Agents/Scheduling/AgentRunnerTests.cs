using System.Diagnostics;
using Harness.Agents.Jobs;
using Harness.Decoding;
using Harness.Agents.Profiles;
using Harness.Agents.Reporting;
using Harness.Agents.Scheduling;
using Harness.Agents.Tools;

namespace Harness.Tests.Agents.Scheduling;

/// <summary>The threaded runner with real tool threads: faults are recorded, and a run always ends on time.</summary>
public class AgentRunnerTests
{
    private static readonly LatencyModel FastLlm = new() { TtftMs = 1, TpotMs = 1 };

    private static (AgentRunReport Report, AgentRunOutcome Run, TimeSpan Took) Run(
        AgentProfile profile, IAgentTool tool, int agents, int workers, TimeSpan duration, TimeSpan? grace = null, int maxAbandoned = 16)
    {
        using var tools = new ToolSet([tool]);
        using var env = new ToolEnvironment(profile, workers, 42);
        tools.Prepare(env);
        var options = new AgentSchedulerOptions { Agents = agents, Workers = workers, MaxBatch = 4, BatchWindow = TimeSpan.FromMilliseconds(1) };
        using var llm = new InProcessLlmEndpoint(new LatencyModelDecoder(FastLlm), options.Endpoint);
        var timing = new AgentRunTiming(TimeSpan.Zero, duration) { HangGrace = grace ?? TimeSpan.FromMilliseconds(200) };
        var runner = new AgentRunner(new JobGenerator(profile, 42), tools, llm, options, timing) { MaxAbandonedWorkers = maxAbandoned };
        var sw = Stopwatch.StartNew();
        AgentRunOutcome run = runner.Run();
        return (AgentRunReport.From(run, profile, llm.Name, null), run, sw.Elapsed);
    }

    [Fact]
    public void Real_tool_calls_are_timed_and_the_device_is_accounted()
    {
        (AgentRunReport r, AgentRunOutcome run, _) = Run(AgentTestProfiles.Fixed(decode: 3), new SpinTool(ms: 5), 2, 2, TimeSpan.FromSeconds(1));
        Assert.True(r.Turns > 10);
        Assert.InRange(r.LlmActiveFraction, 0.01, 1.0);
        Assert.True(r.Tools["fake"].LatencyMs!.P50 >= 5);
        Assert.True(r.CpuUtilization > 0);
        Assert.True(run.ProcessCpu > TimeSpan.Zero);
        Assert.Null(r.Aborted);
    }

    [Fact]
    public void A_throwing_tool_is_a_failed_call_with_its_reason()
    {
        (AgentRunReport r, _, _) = Run(AgentTestProfiles.Fixed(tool: "boom"), new FaultTool("boom", "throw"), 1, 1, TimeSpan.FromMilliseconds(500));
        AgentToolReport t = r.Tools["boom"];
        Assert.True(t.Errors > 0);
        Assert.Equal(0, t.Ok);
        Assert.Contains("InvalidOperationException: disk on fire", t.Failures[0].Message);
        Assert.True(r.TurnsFailed > 0);
    }

    [Fact]
    public void A_tool_that_waits_past_its_timeout_is_stopped()
    {
        (AgentRunReport r, _, _) = Run(AgentTestProfiles.Fixed(tool: "slow", timeoutMs: 100), new FaultTool("slow", "wait"), 1, 1, TimeSpan.FromMilliseconds(700));
        Assert.True(r.Tools["slow"].Timeouts > 0);
        Assert.Contains("timeout", r.Tools["slow"].Failures[0].Message);
    }

    [Fact]
    public void A_hung_tool_is_abandoned_its_worker_replaced_and_the_run_ends_on_time()
    {
        var hang = new FaultTool("hang", "hang");
        try
        {
            (AgentRunReport r, AgentRunOutcome run, TimeSpan took) = Run(AgentTestProfiles.Fixed(tool: "hang", timeoutMs: 100), hang, 1, 1, TimeSpan.FromSeconds(1.5));
            Assert.True(r.Tools["hang"].Hung >= 2); // the replacement worker took the next call, which hung too
            Assert.Contains("worker was replaced", r.Tools["hang"].Failures[0].Message);
            Assert.True(run.AbandonedWorkers >= 2);
            Assert.True(took < TimeSpan.FromSeconds(1.5 + 0.1 + 0.2 + 3)); // window + timeout + grace, and slack for a loaded machine
        }
        finally
        {
            hang.Release.Set();
        }
    }

    [Fact]
    public void Too_many_hung_calls_abort_the_run_with_the_reason()
    {
        var hang = new FaultTool("hang", "hang");
        try
        {
            (AgentRunReport r, _, TimeSpan took) = Run(AgentTestProfiles.Fixed(tool: "hang", timeoutMs: 50), hang, 1, 1, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(50), maxAbandoned: 1);
            Assert.Contains("hung past their timeout", r.Aborted);
            Assert.True(took < TimeSpan.FromSeconds(10));
        }
        finally
        {
            hang.Release.Set();
        }
    }

    [Fact]
    public void Crashing_and_flooding_subprocesses_are_recorded_in_a_run()
    {
        AgentProfile p = AgentTestProfiles.Parse("""
            { "name": "faults", "turns": 100, "initial_prompt_tokens": 10, "decode_tokens": 2, "tool_calls_per_turn": 1, "final_turn_without_tools": false,
              "tool_timeout_ms": 5000,
              "tools": [ { "tool": "exec", "variants": { "crash": 1, "flood": 1 }, "args": { "input_kb": 1 } } ],
              "exec": { "allow": [ { "name": "crash", "command": "/bin/sh", "args": ["-c", "kill -SEGV $$"] }, { "name": "flood", "command": "yes", "args": [] } ],
                        "max_output_kb": 64, "sandbox": "none" } }
            """);
        (AgentRunReport r, _, _) = Run(p, new ExecTool(), 2, 2, TimeSpan.FromSeconds(3));
        Assert.True(r.Tools.TryGetValue("exec", out AgentToolReport? t), "no exec call ended in the window");
        Assert.Equal(0, t.Ok);
        Assert.Contains(t.Failures, f => f.Message.Contains("killed by signal 11"));
        Assert.Contains(t.Failures, f => f.Message.Contains("output limit"));
    }
}
