using Harness.Agents.Jobs;
using Harness.Decoding;
using Harness.Agents.Profiles;
using Harness.Agents.Reporting;
using Harness.Agents.Scheduling;
using Harness.Results;
using Harness.Tests.Fakes;

namespace Harness.Tests.Agents.Reporting;

public class AgentResultsTests
{
    [Fact]
    public void An_agent_run_is_a_valid_schema_version_1_result_with_an_agents_section()
    {
        AgentProfile p = AgentTestProfiles.Fixed(agents: 4, maxBatch: 4);
        var options = new AgentSchedulerOptions { Agents = 4, Workers = 2, MaxBatch = 4 };
        var timing = new AgentRunTiming(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        var model = new LatencyModel { TtftMs = 10, TpotMs = 5 };
        AgentRunOutcome run = new SimulatedAgentRunner(new JobGenerator(p, 1), options, model, new FixedToolCost(_ => new ToolCost(TimeSpan.FromMilliseconds(40), 20)), timing).Run();
        using var llm = new InProcessLlmEndpoint(new LatencyModelDecoder(model), options.Endpoint);

        // What the common runner does with an agent run, without its telemetry.
        ResultDocument doc = ResultBuilder.Build(AgentResults.Run(run, p, llm, timing, maxErrorRate: 0, minTurns: 20), AgentResults.Workload, "latency-model", Harness.Hardware.HardwareProbe.Probe(new Dictionary<string, string?>()));
        AgentResults.Complete(doc, AgentRunReport.From(run, p, llm.Name));
        string json = ResultJson.Serialize(doc);
        Assert.Empty(ResultSchema.Validate(json));
        Assert.True(doc.Valid, string.Join("; ", doc.Validity.Where(v => !v.Passed).Select(v => v.Detail)));
        Assert.Equal(("agents", "latency-model", "agents:4,workers:2"), (doc.Workload, doc.Backend, doc.Scenario));
        AgentRunReport agents = doc.Agents!;
        Assert.Equal(agents.Turns, doc.Metrics.RequestsOk);
        Assert.Equal(agents.LlmBusyFraction, (double)doc.Metrics.Extra!["llm_busy_fraction"]!);
        Assert.Contains("cores", doc.MetricDefinitions["llm_busy_fraction"] + doc.MetricDefinitions["cpu_utilization"]);

        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "agents.json");
        AtomicFile.WriteAllText(path, json);
        ResultDocument back = ResultReader.ReadDocument(path);
        Assert.Equal(agents.JobsPerHour, back.Agents!.JobsPerHour, 9);
        Assert.Equal(agents.Tools["fake"].Calls, back.Agents.Tools["fake"].Calls);
    }

    [Fact]
    public void Fewer_turns_than_the_minimum_make_the_result_invalid()
    {
        AgentProfile p = AgentTestProfiles.Fixed();
        var options = new AgentSchedulerOptions { Agents = 1, Workers = 1, MaxBatch = 1 };
        var timing = new AgentRunTiming(TimeSpan.Zero, TimeSpan.FromSeconds(1));
        var model = new LatencyModel { TtftMs = 10, TpotMs = 5 };
        // 100 ms turns (30 ms on the device, a 70 ms tool call) in a 1 s simulated window: 10 turns.
        AgentRunOutcome run = new SimulatedAgentRunner(new JobGenerator(p, 1), options, model, new FixedToolCost(_ => new ToolCost(TimeSpan.FromMilliseconds(70), 20)), timing).Run();
        using var llm = new InProcessLlmEndpoint(new LatencyModelDecoder(model), options.Endpoint);

        ResultDocument doc = ResultBuilder.Build(AgentResults.Run(run, p, llm, timing, maxErrorRate: 0, minTurns: 20), AgentResults.Workload, "latency-model", Harness.Hardware.HardwareProbe.Probe(new Dictionary<string, string?>()));

        Assert.False(doc.Valid);
        Assert.Contains(doc.Validity, v => v.Name == "min_requests" && !v.Passed);
    }
}
