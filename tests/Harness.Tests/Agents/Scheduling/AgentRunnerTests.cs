using System.Diagnostics;
using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Reporting;
using Harness.Agents.Scheduling;
using Harness.Agents.Tools;
using Harness.Decoding;

namespace Harness.Tests.Agents.Scheduling;

/// <summary>
/// The threaded runner with real tool threads: faults are recorded, and a run always ends on time.
/// A test that needs something to happen runs until it has happened (a long window, cancelled
/// once the tool has seen enough calls), not for a window that was long enough on one machine.
/// </summary>
public class AgentRunnerTests
{
    private static readonly LatencyModel FastLlm = new() { TtftMs = 1, TpotMs = 1 };

    /// <summary>A bound that only a run that never sees its event reaches; the tests end long before.</summary>
    private static readonly TimeSpan UntilBound = TimeSpan.FromMinutes(2);

    /// <param name="until">When given, the run is cancelled as soon as it holds (polled every few ms), and <paramref name="duration"/> is only a bound.</param>
    /// <param name="grace">How long past its timeout a call may take before it is declared hung; by default as long as
    /// <see cref="UntilBound"/>, so that only the tests of hangs see one (a loaded machine can hold a
    /// cancelled call's thread off a core for a few hundred milliseconds).</param>
    private static Outcome Run(
        AgentProfile profile, IAgentTool tool, int agents, int workers, TimeSpan duration, Func<bool>? until = null, TimeSpan? grace = null, int maxAbandoned = 16)
    {
        using var tools = new ToolSet([tool]);
        using var env = new ToolEnvironment(profile, workers, 42);
        tools.Prepare(env);
        var options = new AgentSchedulerOptions { Agents = agents, Workers = workers, MaxBatch = 4, BatchWindow = TimeSpan.FromMilliseconds(1) };
        using var llm = new InProcessLlmEndpoint(new LatencyModelDecoder(FastLlm), options.Endpoint);
        var timing = new AgentRunTiming(TimeSpan.Zero, duration) { HangGrace = grace ?? UntilBound };
        var runner = new AgentRunner(new JobGenerator(profile, 42), tools, llm, options, timing) { MaxAbandonedWorkers = maxAbandoned };
        using var stop = new CancellationTokenSource();
        using var done = new CancellationTokenSource();
        long started = Stopwatch.GetTimestamp();
        long stopped = 0;
        Task watcher = until is null ? Task.CompletedTask : Task.Run(async () =>
        {
            while (!done.IsCancellationRequested && !until())
            {
                await Task.Delay(5);
            }

            if (!done.IsCancellationRequested)
            {
                Interlocked.Exchange(ref stopped, Stopwatch.GetTimestamp());
                stop.Cancel();
            }
        });
        AgentRunOutcome run = runner.Run(stop.Token);
        long ended = Stopwatch.GetTimestamp();
        done.Cancel();
        watcher.Wait();
        long stop0 = Interlocked.Read(ref stopped);
        return new Outcome(
            AgentRunReport.From(run, profile, llm.Name),
            run,
            Stopwatch.GetElapsedTime(started, ended),
            stop0 == 0 ? null : Stopwatch.GetElapsedTime(started, stop0),
            stop0 == 0 ? null : Stopwatch.GetElapsedTime(stop0, ended));
    }

    [Fact]
    public void Real_tool_calls_are_timed_and_the_device_is_accounted()
    {
        var spin = new SpinTool(ms: 5);
        Outcome o = Run(AgentTestProfiles.Fixed(decode: 3), spin, 2, 2, UntilBound, until: () => spin.Calls >= 1 + 20);
        AgentRunReport r = o.Report;
        Assert.True(r.Turns >= 18, $"{r.Turns} turns after {spin.Calls - 1} calls"); // 20 calls began, at most one in flight per worker
        Assert.InRange(r.LlmActiveFraction, double.Epsilon, 1.0);
        Assert.True(r.Tools["fake"].LatencyMs!.P50 >= 5); // the spin lasts 5 ms of wall time, however slow the machine
        Assert.True(r.CpuUtilization > 0);
        Assert.True(o.Run.ProcessCpu > TimeSpan.Zero);
        Assert.Null(r.Aborted);
    }

    [Fact]
    public void A_throwing_tool_is_a_failed_call_with_its_reason()
    {
        var boom = new FaultTool("boom", "throw");
        AgentRunReport r = Run(AgentTestProfiles.Fixed(tool: "boom"), boom, 1, 1, UntilBound, until: () => boom.Calls >= 1 + 2).Report;
        AgentToolReport t = r.Tools["boom"];
        Assert.True(t.Errors > 0);
        Assert.Equal(0, t.Ok);
        Assert.Contains("InvalidOperationException: disk on fire", t.Failures[0].Message);
        Assert.True(r.TurnsFailed > 0);
    }

    [Fact]
    public void A_tool_that_waits_past_its_timeout_is_stopped()
    {
        // The next call begins only after the first one timed out and its turn was accounted.
        var slow = new FaultTool("slow", "wait");
        AgentRunReport r = Run(AgentTestProfiles.Fixed(tool: "slow", timeoutMs: 100), slow, 1, 1, UntilBound, until: () => slow.Calls >= 1 + 2).Report;
        Assert.True(r.Tools["slow"].Timeouts > 0);
        Assert.Contains("timeout", r.Tools["slow"].Failures[0].Message);
    }

    [Fact]
    public void A_hung_tool_is_abandoned_its_worker_replaced_and_the_run_ends_on_time()
    {
        var hang = new FaultTool("hang", "hang");
        try
        {
            // The warm-up call hangs too; the fourth call begins once the second and third were declared hung.
            Outcome o = Run(AgentTestProfiles.Fixed(tool: "hang", timeoutMs: 100), hang, 1, 1, UntilBound, until: () => hang.Calls >= 4, grace: TimeSpan.FromMilliseconds(200));
            AgentRunReport r = o.Report;
            Assert.True(r.Tools["hang"].Hung >= 2); // the replacement worker took the next call, which hung too
            Assert.Contains("worker was replaced", r.Tools["hang"].Failures[0].Message);
            Assert.True(o.Run.AbandonedWorkers >= 2);
            // On time: once stopped, it waits for the hung calls at most their timeout and grace (0.3 s)
            // before leaving them behind, plus scheduling; the margin for the latter is the time the
            // run itself took to see two calls hang on this machine now. A run that waited for the
            // hung calls would not return before they are released, after this assertion.
            TimeSpan bound = TimeSpan.FromMilliseconds(100 + 200);
            Assert.True(o.AfterStop < bound + o.BeforeStop, $"stopped after {o.BeforeStop}, returned {o.AfterStop} later");
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
            TimeSpan window = TimeSpan.FromSeconds(30);
            Outcome o = Run(AgentTestProfiles.Fixed(tool: "hang", timeoutMs: 50), hang, 1, 1, window, grace: TimeSpan.FromMilliseconds(50), maxAbandoned: 1);
            Assert.Contains("hung past their timeout", o.Report.Aborted);
            // Aborted, not run to the end of its window: by the run's own clock, its window was cut short.
            Assert.True(o.Run.MonotonicWindow < o.Run.Accounting.Frequency * window.TotalSeconds, $"ran {o.Took}");
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
        // A window of about 20 calls of each kind at the speed this machine starts them now, at least 3 s.
        AgentRunReport r = Run(p, new ExecTool(), 2, 2, Max(TimeSpan.FromSeconds(3), 20 * TimePerCall(p, new ExecTool()))).Report;
        Assert.True(r.Tools.TryGetValue("exec", out AgentToolReport? t), "no exec call ended in the window");
        Assert.Equal(0, t.Ok);
        Assert.Contains(t.Failures, f => f.Message.Contains("killed by signal 11"));
        Assert.Contains(t.Failures, f => f.Message.Contains("output limit"));
    }

    /// <summary>The mean wall time of one call of each tool and variant of the profile, on a prepared tool (after its warm-up call).</summary>
    private static TimeSpan TimePerCall(AgentProfile profile, IAgentTool tool)
    {
        using var tools = new ToolSet([tool]);
        using var env = new ToolEnvironment(profile, 1, 42);
        tools.Prepare(env);
        List<ToolCallPlan> calls = new JobGenerator(profile, 42).WarmupCalls().ToList();
        var sw = Stopwatch.StartNew();
        foreach (ToolCallPlan call in calls)
        {
            ToolRunner.Run(tool, call, 0, profile.ToolTimeout, Harness.Measurement.StopwatchClock.Instance, CancellationToken.None);
        }

        return sw.Elapsed / calls.Count;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>A run, how long it took, and when it was stopped (null when it ran to its end).</summary>
    private sealed record Outcome(AgentRunReport Report, AgentRunOutcome Run, TimeSpan Took, TimeSpan? BeforeStop, TimeSpan? AfterStop);
}
