using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Reporting;
using Harness.Agents.Scheduling;
using Harness.Decoding;

namespace Harness.Tests.Agents.Scheduling;

/// <summary>
/// The coordinator's accounting checked against hand-computed timelines on the simulated clock
/// (1 tick = 1 ns): every tool call takes exactly its cost, every LLM iteration its model time.
/// </summary>
public class SchedulerAccountingTests
{
    private static readonly LatencyModel Llm = new() { TtftMs = 10, TpotMs = 5 };

    private static (AgentRunReport Report, AgentAccounting Accounting) Simulate(
        AgentProfile profile, int agents, int workers, int maxBatch, double toolMs, TimeSpan warmup, TimeSpan duration,
        LlmBatching batching = LlmBatching.Continuous, bool failing = false, bool stagger = false, int maxPrefill = 16_384, Func<ToolCallPlan, double>? cost = null, double windowMs = 0)
    {
        var options = new AgentSchedulerOptions
        {
            Agents = agents, Workers = workers, MaxBatch = maxBatch, Batching = batching,
            BatchWindow = TimeSpan.FromMilliseconds(windowMs), StaggerStart = stagger, MaxPrefillTokens = maxPrefill,
        };
        var costs = new FixedToolCost(c => new ToolCost(TimeSpan.FromMilliseconds(cost?.Invoke(c) ?? toolMs), 10, failing));
        var sim = new SimulatedAgentRunner(new JobGenerator(profile, 42), options, Llm, costs, new AgentRunTiming(warmup, duration));
        AgentRunOutcome run = sim.Run();
        return (AgentRunReport.From(run, profile, "latency-model"), run.Accounting);
    }

    [Fact]
    public void One_agent_one_worker_busy_fraction_and_shares_are_exact()
    {
        // Cycle of 100 ms: prefill 10 + 4 decode steps x 5 = 30 ms on the device, then a 70 ms tool call.
        (AgentRunReport r, AgentAccounting a) = Simulate(AgentTestProfiles.Fixed(), 1, 1, 1, 70, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        Assert.Equal(0.3, r.LlmBusyFraction, 9);
        Assert.Equal(0.3, r.LlmActiveFraction, 9);
        Assert.Equal(0.7, r.ToolWorkerBusyFraction, 9);
        Assert.Equal(0.7, r.ToolShareOfTurnTime, 9);
        Assert.Equal(100, r.Turns); // turns ending at 1.0, 1.1, ... 10.9 s
        Assert.Equal(10, r.TurnsPerS, 9);
        Assert.Equal(0, r.ToolQueueMs!.Max, 9);
        Assert.Equal(100, r.Tools["fake"].Calls);
        Assert.Equal(10_000_000, a.TimeToFirstToken.ToArray().Distinct().Single());
        Assert.Equal(5_000_000, a.TimePerOutputToken.ToArray().Distinct().Single());
        Assert.Equal(100_000_000, a.TurnLatency.ToArray().Distinct().Single());
        Assert.Equal(10 * 3600 / r.MeanTurnsPerJob, r.JobsPerHour, 6);
    }

    [Fact]
    public void Two_agents_on_one_worker_queue_for_40_ms_and_batch_slots_are_half_used()
    {
        // Steady state, period 140 ms: each agent's 30 ms step (alone on a 2-slot device) is
        // followed by a 40 ms wait for the worker, busy with the other agent's 70 ms call.
        (AgentRunReport r, _) = Simulate(AgentTestProfiles.Fixed(agents: 2, maxBatch: 2), 2, 1, 2, 70, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(14));
        Assert.Equal(40, r.ToolQueueMs!.P50, 6);
        Assert.Equal(40, r.ToolQueueMs.Max, 6);
        Assert.Equal(60.0 / 140, r.LlmActiveFraction, 6);
        Assert.Equal(30.0 / 140, r.LlmBusyFraction, 6); // 30 ms at 1 of 2 slots, twice per period
        Assert.Equal(1.0, r.ToolWorkerBusyFraction, 6);
        Assert.Equal(1.0, r.LlmMeanDecodeBatch, 9);
        Assert.Equal(110.0 / 140, r.ToolShareOfTurnTime, 6);
    }

    [Fact]
    public void More_workers_remove_the_queue_and_raise_the_busy_fraction()
    {
        AgentProfile p = AgentTestProfiles.Fixed(agents: 2, maxBatch: 2);
        AgentRunReport one = Simulate(p, 2, 1, 2, 70, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(14)).Report;
        // A 1 ms batch window lets the two steps submitted at the same instant share one prefill.
        AgentRunReport two = Simulate(p, 2, 2, 2, 70, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(14), windowMs: 1).Report;
        Assert.Equal(0, two.ToolQueueMs!.Max, 9);
        // Batched together, the two steps fill both slots for 30 ms per 100 ms cycle; the device is
        // active for less time than with one worker (0.3 < 0.43), but does more work: occupancy rises.
        Assert.Equal(0.3, two.LlmBusyFraction, 6);
        Assert.True(two.LlmBusyFraction > one.LlmBusyFraction);
        Assert.True(two.LlmActiveFraction < one.LlmActiveFraction);
        Assert.Equal(2 * 10.0, two.TurnsPerS, 6); // both agents in lock step: 100 ms cycles
        Assert.Equal(2.0, two.LlmMeanDecodeBatch, 9);
    }

    [Fact]
    public void The_prefill_budget_admits_steps_one_iteration_at_a_time()
    {
        // Three steps of 100 new tokens, at most 150 per iteration: prefills at 0-10, 10-20, 20-30 ms.
        (_, AgentAccounting a) = Simulate(AgentTestProfiles.Fixed(agents: 3, maxBatch: 4, decode: 1), 3, 3, 4, 1000, TimeSpan.Zero, TimeSpan.FromMilliseconds(25), maxPrefill: 150);
        Assert.Equal([10.0, 20.0], a.TimeToFirstToken.ToArray().Select(t => t / 1e6).Take(2));
        Assert.Equal(2, a.PrefillIterations); // the third prefill ends at 30 ms, after the window
    }

    [Fact]
    public void Static_batching_makes_late_steps_wait_for_the_running_batch()
    {
        // Tool calls of 35 or 70 ms put the two agents out of phase. Continuously batched, a step joins
        // at the next iteration (at most one 10 ms prefill later); statically, it waits for the batch.
        AgentProfile p = AgentTestProfiles.Fixed(agents: 2, maxBatch: 2);
        double Cost(ToolCallPlan c) => c.Seed % 2 == 0 ? 35 : 70;
        AgentRunReport cont = Simulate(p, 2, 2, 2, 0, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), LlmBatching.Continuous, cost: Cost).Report;
        AgentRunReport stat = Simulate(p, 2, 2, 2, 0, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), LlmBatching.Static, cost: Cost).Report;
        Assert.InRange(cont.LlmQueueMs!.Max, 0, 10);
        Assert.True(stat.LlmQueueMs!.Max > 10, $"static max queue {stat.LlmQueueMs.Max} ms");
        Assert.Equal("static", stat.Batching);
    }

    [Fact]
    public void A_failing_tool_fails_turns_or_ends_jobs_per_policy()
    {
        (AgentRunReport cont, _) = Simulate(AgentTestProfiles.Fixed(turns: 3), 1, 1, 1, 70, TimeSpan.Zero, TimeSpan.FromSeconds(1), failing: true);
        Assert.True(cont.TurnsFailed > 0);
        Assert.Equal(0, cont.Turns);
        Assert.Equal(0, cont.JobsFailed);
        Assert.True(cont.JobsCompleted > 0);

        (AgentRunReport end, _) = Simulate(AgentTestProfiles.Fixed(turns: 3, onFailure: "end_job"), 1, 1, 1, 70, TimeSpan.Zero, TimeSpan.FromSeconds(1), failing: true);
        Assert.Equal(end.TurnsFailed, end.JobsFailed); // each job ends at its first failed turn
    }

    [Fact]
    public void Jobs_started_mid_task_are_counted_but_not_timed()
    {
        (AgentRunReport r, AgentAccounting a) = Simulate(AgentTestProfiles.Fixed(turns: 5, agents: 4, maxBatch: 4), 4, 4, 4, 70, TimeSpan.Zero, TimeSpan.FromSeconds(3), stagger: true);
        Assert.True(r.PartialJobsCompleted > 0);
        Assert.True(r.JobsCompleted > 0);
        Assert.All(a.JobCompletion.ToArray(), t => Assert.True(t >= 500_000_000)); // 5 turns of at least 100 ms
    }

    [Fact]
    public void The_same_seed_gives_the_same_run()
    {
        AgentProfile p = AgentTestProfiles.Parse("""
            { "name": "r", "turns": { "uniform": [2, 8] }, "initial_prompt_tokens": 200, "decode_tokens": { "uniform": [2, 40] },
              "tool_calls_per_turn": { "choice": { "0": 1, "1": 2, "2": 1 } }, "tools": [ { "tool": "fake" } ] }
            """);
        string Run() => System.Text.Json.JsonSerializer.Serialize(Simulate(p, 6, 2, 4, 33, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20), stagger: true).Report);
        Assert.Equal(Run(), Run());
    }
}
