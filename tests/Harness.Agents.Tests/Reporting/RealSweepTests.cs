using Harness.Agents.Native;
using Harness.Agents.Profiles;
using Harness.Agents.Reporting;
using Harness.Agents.Scheduling;
using Harness.Results;
using Harness.Running;
using Harness.Backends;
using Harness.Decoding;
using Xunit.Abstractions;

namespace Harness.Agents.Tests.Reporting;

/// <summary>
/// A short sweep with real tools on this machine: tool-heavy agents, a fast modeled LLM. One worker
/// starves the device; two (both cores) feed it better; the curve rises and stays sensible, and
/// the answer is stated.
/// </summary>
public sealed class RealSweepTests(ITestOutputHelper output) : IDisposable
{
    private readonly ITestOutputHelper _output = output;

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
            Timing = new AgentRunTiming(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(2)),
            Llm = new LlmChoice { Model = new LatencyModel { TtftMs = 4, TpotMs = 2, Source = "test" } },
            Cards = [new ProjectionCard("slower", new LatencyModel { TtftMs = 8, TpotMs = 8 })],
            // Telemetry as every run has it; the test reads the CPU it saw, not its energy.
            Output = new RunOutput(Path.Combine(_dir, "sweep")),
            SimulationTiming = new AgentRunTiming(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60)),
        };
        var lines = new List<string>();
        (AgentSweepDocument doc, string path) = new AgentSweep(AgentToolSets.Full, new BackendRegistry([])).Run(request, lines.Add);

        Assert.Equal([1, 2], doc.Points.Select(p => p.Workers));
        // Each point is a result of the common runner, beside the sweep document: telemetry included.
        Assert.Equal(Path.Combine(_dir, "sweep", ResultReader.AgentSweepFileName), path);
        Assert.All(doc.Points, p => Assert.True(ResultReader.ReadDocument(Path.Combine(_dir, "sweep", p.Result!)).Telemetry?.Cpu is not null, p.Result));
        Assert.Equal(2, ResultReader.ReadAll(Path.Combine(_dir, "sweep")).Count);
        AgentSweepPoint one = doc.Points[0], two = doc.Points[1];
        Assert.All(doc.Points, p => Assert.InRange(p.LlmBusyFraction, 0.001, 1.0));
        Assert.All(doc.Points, p => Assert.True(p.JobsPerHour > 0 && p.ToolCallsFailed == 0));
        Assert.True(one.LlmBusyFraction < 0.9, "one worker should starve a fast device");
        // Monotone: a second worker does not make things worse when it got a core of its own. The
        // suite runs test assemblies in parallel on 2 cores, so the second core is often taken; the
        // margin comes from this run: the CPU each point's process actually got (a broken sweep,
        // e.g. workers serialized on a lock, gets the CPU and still does no more turns).
        string seen = $"busy {one.LlmBusyFraction:P1} -> {two.LlmBusyFraction:P1}, turns/s {one.TurnsPerS:0.##} -> {two.TurnsPerS:0.##}, CPU {one.CpuUtilization:P0} -> {two.CpuUtilization:P0}, tool queue p50 {one.ToolQueueMsP50:0.#} -> {two.ToolQueueMsP50:0.#} ms";
        double cpuGain = two.CpuUtilization!.Value / Math.Max(1e-9, one.CpuUtilization!.Value);
        if (cpuGain >= 1.3)
        {
            // Turns, not the busy fraction: with a starved device a window holds a handful of steps,
            // and their share of the window moves with where in a step it happened to close.
            Assert.True(two.TurnsPerS >= one.TurnsPerS * 0.9, seen);
        }
        else
        {
            _output.WriteLine($"the second worker got no core of its own (CPU x{cpuGain:0.00}); monotonicity not judged: {seen}");
        }

        Assert.NotEqual("unknown", doc.CoresPerGpuBasis);
        Assert.NotNull(doc.Projection);
        Assert.Single(doc.Projections);
        Assert.True(doc.ToolCosts.ContainsKey("json") && doc.ToolCosts.ContainsKey("grep"));
        Assert.Equal(doc.CoresPerGpuFor90pctBusy, AgentSweepJson.Read(path).CoresPerGpuFor90pctBusy);
        Assert.Equal(2, lines.Count(l => l.StartsWith("workers", StringComparison.Ordinal)));
        Assert.Contains("cores_per_gpu_for_90pct_busy", AgentTables.Sweep(doc, path));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
