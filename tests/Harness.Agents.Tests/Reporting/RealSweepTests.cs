using Harness.Agents.Jobs;
using Harness.Agents.Native;
using Harness.Agents.Profiles;
using Harness.Agents.Reporting;
using Harness.Agents.Scheduling;
using Harness.Agents.Tools;
using Harness.Backends;
using Harness.Decoding;
using Harness.Measurement;
using Harness.Results;
using Harness.Running;

namespace Harness.Agents.Tests.Reporting;

/// <summary>
/// A short sweep with real tools on this machine: tool-heavy agents, a fast modeled LLM. One worker
/// starves the device; two feed it at least as well for the CPU they got; the curve stays sensible,
/// and the answer is stated. Every comparison is against what this run measured: the CPU each point
/// obtained (the second core may be taken by other work) and the noise its own counts allow.
/// </summary>
[Collection(RealSweepCollection.Name)]
public sealed class RealSweepTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-agents-sweep-").FullName;

    [Fact]
    public void A_short_sweep_gives_a_monotone_sensible_curve_and_an_answer()
    {
        AgentProfile profile = AgentProfileLoader.Parse(System.Text.Json.JsonDocument.Parse("""
            { "name": "cpu-heavy", "agents": 6, "max_batch": 4,
              "turns": 1000, "initial_prompt_tokens": 200, "decode_tokens": 4, "tool_calls_per_turn": 1, "final_turn_without_tools": false,
              "tools": [ { "tool": "json", "args": { "records": 60 } }, { "tool": "grep", "variants": { "emails": 1 }, "args": { "corpus_kb": 1024 } } ] }
            """).RootElement, null);
        var request = new AgentSweepRequest
        {
            Profile = profile,
            Options = new AgentSchedulerOptions { Agents = 6, Workers = 1, MaxBatch = 4 },
            Workers = [1, 2],
            Timing = new AgentRunTiming(TimeSpan.FromSeconds(0.5), Window(profile)),
            Llm = new LlmChoice { Model = new LatencyModel { TtftMs = 4, TpotMs = 2, Source = "test" } },
            Cards = [new ProjectionCard("slower", new LatencyModel { TtftMs = 8, TpotMs = 8 })],
            // Telemetry as every run has it; the test reads the CPU it saw, not its energy.
            Output = new RunOutput(Path.Combine(_dir, "sweep")),
            SimulationTiming = new AgentRunTiming(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60)),
        };
        var lines = new List<string>();
        (AgentSweepDocument doc, WrittenResult written, _) = new AgentSweep(AgentToolSets.Full, new BackendRegistry([])).Run(request, lines.Add);
        string path = written.Path;

        Assert.Equal([1, 2], doc.Points.Select(p => p.Workers));
        // Each point is a result of the common runner, beside the sweep document: telemetry included.
        Assert.Equal(Path.Combine(_dir, "sweep", ResultReader.AgentSweepFileName), path);
        Assert.All(doc.Points, p => Assert.True(ResultReader.ReadDocument(Path.Combine(_dir, "sweep", p.Result!)).Telemetry?.Cpu is not null, p.Result));
        Assert.Equal(2, ResultReader.ReadAll(Path.Combine(_dir, "sweep")).Count);
        AgentSweepPoint one = doc.Points[0], two = doc.Points[1];
        string seen = $"busy {one.LlmBusyFraction:P1} -> {two.LlmBusyFraction:P1}, turns/s {one.TurnsPerS} -> {two.TurnsPerS}, CPU {one.CpuUtilization:P0} -> {two.CpuUtilization:P0}, "
            + $"tool calls {one.ToolCalls} -> {two.ToolCalls}, tool queue p50 {one.ToolQueueMsP50:0.#} -> {two.ToolQueueMsP50:0.#} ms, tool p50 {one.ToolLatencyMsP50:0.#} -> {two.ToolLatencyMsP50:0.#} ms";
        Assert.All(doc.Points, p => Assert.InRange(p.LlmBusyFraction, double.Epsilon, 1.0));
        Assert.All(doc.Points, p => Assert.True(p.JobsPerHour > 0 && p.ToolCallsFailed == 0));
        // One worker starves the device: the worker is busier than the device it feeds.
        Assert.True(one.LlmActiveFraction < one.ToolWorkerBusyFraction, seen);

        // Monotone for the CPU obtained: per CPU-second, a second worker turns at least as many turns
        // and keeps the device at least as busy, within the noise of the counts (3 standard errors
        // of a rate estimated from n events, 1/sqrt(n) each). A point that got no more CPU (the
        // second core busy elsewhere) is not expected to do more.
        double turnsNoise = Noise(Turns(one), Turns(two));
        Assert.True(two.TurnsPerS / Cpu(two) >= one.TurnsPerS / Cpu(one) * (1 - turnsNoise), seen);
        Assert.True(two.LlmBusyFraction / Cpu(two) >= one.LlmBusyFraction / Cpu(one) * (1 - turnsNoise), seen);
        // The wait for a worker is no longer with two workers, within the noise of the calls; if the
        // tools themselves ran slower during the second point (the machine got busier), by that much
        // more. (Not in units of a tool call: the wait also holds the time a worker's thread waits for
        // a core, which does not shrink when the calls do.)
        double slowdown = Math.Max(1, two.ToolLatencyMsP50!.Value / one.ToolLatencyMsP50!.Value);
        Assert.True(two.ToolQueueMsP50 <= one.ToolQueueMsP50 * slowdown * (1 + Noise(one.ToolCalls, two.ToolCalls)), seen);

        Assert.NotEqual("unknown", doc.CoresPerGpuBasis);
        Assert.NotNull(doc.Projection);
        Assert.Single(doc.Projections);
        Assert.True(doc.ToolCosts.ContainsKey("json") && doc.ToolCosts.ContainsKey("grep"));
        Assert.Equal(doc.CoresPerGpuFor90pctBusy, AgentSweepJson.Read(path).CoresPerGpuFor90pctBusy);
        Assert.Equal(2, lines.Count(l => l.StartsWith("workers", StringComparison.Ordinal)));
        Assert.Contains("cores_per_gpu_for_90pct_busy", AgentTables.Sweep(doc, path));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static double Turns(AgentSweepPoint p) => p.TurnsPerS * p.WindowS;

    /// <summary>
    /// A window that holds about 30 turns of one worker at the speed this machine runs the
    /// profile's tools right now (one timed call of each, after an untimed one), and at least 2 s:
    /// a loaded machine gets a longer window rather than a point of one or two turns.
    /// </summary>
    private static TimeSpan Window(AgentProfile profile)
    {
        using ToolSet tools = AgentToolSets.Full();
        using var environment = new ToolEnvironment(profile, 1, 42);
        tools.Prepare(environment);
        List<ToolCallPlan> calls = new JobGenerator(profile, 42).WarmupCalls().ToList();
        long start = StopwatchClock.Instance.Timestamp;
        foreach (ToolCallPlan call in calls)
        {
            ToolRunner.Run(tools.Get(call.Tool), call, 0, profile.ToolTimeout, StopwatchClock.Instance, CancellationToken.None);
        }

        TimeSpan perCall = TimeSpan.FromSeconds(StopwatchClock.Instance.ToSeconds(StopwatchClock.Instance.Timestamp - start) / calls.Count);
        return TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(2).Ticks, 30 * perCall.Ticks));
    }

    /// <summary>The share of the machine's CPU this process used over the point's window.</summary>
    private static double Cpu(AgentSweepPoint p) => p.CpuUtilization ?? throw new InvalidOperationException("CPU time is not measured on this platform");

    /// <summary>3 standard errors of the ratio of two rates estimated from n1 and n2 events.</summary>
    private static double Noise(double n1, double n2) => 3 * Math.Sqrt((1 / Math.Max(1, n1)) + (1 / Math.Max(1, n2)));
}

/// <summary>
/// The sweep compares CPU-normalized rates, and its CPU time is the process's: no other test of
/// this assembly may burn CPU in the process beside it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealSweepCollection
{
    public const string Name = "real sweep";
}
