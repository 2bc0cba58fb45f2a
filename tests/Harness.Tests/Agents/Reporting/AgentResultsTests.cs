using Harness.Agents;
using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Reporting;
using Harness.Agents.Scheduling;
using Harness.Decoding;
using Harness.Metrics;
using Harness.Results;
using Harness.Tests.Fakes;
using Harness.Validity;

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
        ResultDocument doc = Build(run, p, llm, timing, new AgentValidity(MaxErrorRate: 0, MinTurns: 20));
        string json = ResultJson.Serialize(doc);
        Assert.Empty(ResultSchema.Validate(json));
        Assert.True(doc.Valid, string.Join("; ", doc.Validity.Where(v => !v.Passed).Select(v => v.Detail)));
        Assert.Equal(("agents", "latency-model", "agents:4,workers:2"), (doc.Workload, doc.Backend, doc.Scenario));
        AgentRunReport agents = doc.Agents!;
        Assert.Equal(agents.LlmBusyFraction, (double)doc.Metrics.Extra!["llm_busy_fraction"]!);
        Assert.Contains("cores", doc.MetricDefinitions["llm_busy_fraction"] + doc.MetricDefinitions["cpu_utilization"]);

        // Its own metrics: turns, not requests; turn latency, not a redefined latency_ms.
        Assert.True(agents.Turns > 20);
        Assert.Equal((double)agents.Turns, doc.Metrics.Value(MetricCatalog.TurnsOk));
        Assert.Equal((double)agents.TurnsFailed, doc.Metrics.Value(MetricCatalog.TurnsFailed));
        Assert.Equal((0L, 0L, 0.0), (doc.Metrics.RequestsOk, doc.Metrics.RequestsFailed, doc.Metrics.RequestsPerS));
        Assert.Null(doc.Metrics.LatencyMs);
        Assert.Equal(agents.Turns, doc.Metrics.Distribution(MetricCatalog.TurnLatencyMs)!.Count);
        Assert.Equal(MetricCatalog.TurnLatencyMs.Definition, doc.MetricDefinitions[MetricCatalog.TurnLatencyMs.Key]);
        Assert.StartsWith(MetricCatalog.TtftMs.Definition, doc.MetricDefinitions[MetricCatalog.TtftMs.Key], StringComparison.Ordinal);
        Assert.DoesNotContain(MetricCatalog.LatencyMs.Key, doc.MetricDefinitions.Keys);
        Assert.Equal(agents.OutputTokens, doc.Metrics.OutputUnits);
        Assert.Null(doc.Samples);
        Assert.Contains(doc.Validity, v => v.Name == ConditionNames.AgentsCompleted && v.Passed);
        Assert.DoesNotContain(doc.Validity, v => v.Name is ConditionNames.MinRequests or ConditionNames.ErrorRate);

        // The terminal summary shows the turns under their own names, and no request counts.
        string summary = MarkdownSummary.Render(doc);
        Assert.DoesNotContain("requests ok", summary, StringComparison.Ordinal);
        Assert.Contains("| turn latency |", summary, StringComparison.Ordinal);
        Assert.Contains($"Turns: {agents.Turns} ok, {agents.TurnsFailed} failed", summary, StringComparison.Ordinal);

        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "agents.json");
        AtomicFile.WriteAllText(path, json);
        ResultDocument back = ResultReader.ReadDocument(path);
        Assert.Equal(agents.JobsPerHour, back.Agents!.JobsPerHour, 9);
        Assert.Equal(agents.Tools["fake"].Calls, back.Agents!.Tools["fake"].Calls);
        Assert.Equal(agents.Turns, back.Metrics.Distribution(MetricCatalog.TurnLatencyMs)!.Count);
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

        ResultDocument doc = Build(run, p, llm, timing, new AgentValidity(MaxErrorRate: 0, MinTurns: 20));

        Assert.False(doc.Valid);
        Assert.Contains(doc.Validity, v => v.Name == ConditionNames.MinTurns && !v.Passed);
    }

    [Fact]
    public void An_aborted_run_is_invalid_by_its_condition_with_no_error_made_up()
    {
        AgentProfile p = AgentTestProfiles.Fixed(agents: 4, maxBatch: 4);
        var options = new AgentSchedulerOptions { Agents = 4, Workers = 2, MaxBatch = 4 };
        var timing = new AgentRunTiming(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        var model = new LatencyModel { TtftMs = 10, TpotMs = 5 };
        AgentRunOutcome whole = new SimulatedAgentRunner(new JobGenerator(p, 1), options, model, new FixedToolCost(_ => new ToolCost(TimeSpan.FromMilliseconds(40), 20)), timing).Run();
        using var llm = new InProcessLlmEndpoint(new LatencyModelDecoder(model), options.Endpoint);
        var validity = new AgentValidity(MaxErrorRate: 0, MinTurns: 20);
        Assert.True(Build(whole, p, llm, timing, validity).Valid);

        ResultDocument doc = Build(whole with { Aborted = "2 tool workers hung" }, p, llm, timing, validity);

        Assert.False(doc.Valid);
        ValidityCondition failed = Assert.Single(doc.Validity, v => !v.Passed);
        Assert.Equal(ConditionNames.AgentsCompleted, failed.Name);
        Assert.Contains("2 tool workers hung", failed.Detail, StringComparison.Ordinal);
        Assert.Empty(doc.Errors);
        Assert.Equal(0.0, doc.Metrics.Value(MetricCatalog.TurnsFailed));
        Assert.Equal(0, doc.Metrics.RequestsFailed);
    }

    private static ResultDocument Build(
        AgentRunOutcome run, AgentProfile p, InProcessLlmEndpoint llm, AgentRunTiming timing, AgentValidity validity) =>
        ResultBuilder.Build(
            AgentResults.Run(run, AgentRunReport.From(run, p, llm.Name), p, llm, timing, validity),
            AgentResults.Workload, "latency-model", Harness.Hardware.HardwareProbe.Probe(new Dictionary<string, string?>()));
}
