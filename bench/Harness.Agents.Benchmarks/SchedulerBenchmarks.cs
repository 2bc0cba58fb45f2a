using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Scheduling;
using Harness.Agents.Tools;
using Harness.Decoding;
using Harness.Measurement;

namespace Harness.Agents.Benchmarks;

/// <summary>
/// Issue 5's targets. <see cref="ThreadedRun"/>: W = the cores here, 2W agents, every tool call
/// burns a fixed CPU time, the LLM device is nearly free, so tools are always queued: the scheduler
/// overhead (process CPU that is neither tool CPU nor the LLM driver thread's, over tool CPU) should
/// stay under 2% and the CPU
/// utilization at or above 90%. <see cref="CoordinatorOnly"/>: the coordinator's own cost per event,
/// on the simulated clock (no threads, no tools).
/// </summary>
public class SchedulerBenchmarks
{
    private AgentProfile _profile = null!;

    /// <summary>CPU milliseconds each tool call burns.</summary>
    [Params(2.0, 20.0, 100.0)]
    public double ToolCpuMs { get; set; }

    public static int Workers => Environment.ProcessorCount;

    [GlobalSetup]
    public void Setup() => _profile = AgentProfileLoader.Parse(JsonDocument.Parse("""
        { "name": "bench", "turns": 200, "initial_prompt_tokens": 10, "decode_tokens": 2, "tool_calls_per_turn": 1,
          "final_turn_without_tools": false, "tools": [ { "tool": "spin" } ] }
        """).RootElement, null);

    [Benchmark]
    public void ThreadedRun()
    {
        using var tools = new ToolSet([new CpuSpinTool(ToolCpuMs)]);
        using var env = new ToolEnvironment(_profile, Workers, 1);
        tools.Prepare(env);
        var options = new AgentSchedulerOptions { Agents = 2 * Workers, Workers = Workers, MaxBatch = 2 * Workers };
        using var llm = new InProcessLlmEndpoint(new LatencyModelDecoder(new LatencyModel { TtftMs = 0.05, TpotMs = 0.05 }), options.Endpoint);
        var runner = new AgentRunner(new JobGenerator(_profile, 1), tools, llm, options, new AgentRunTiming(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(3)));
        AgentRunOutcome run = runner.Run();
        double toolCpu = run.Accounting.ToolThreadCpu.TotalSeconds;
        string name = MeasuredColumn.Key(nameof(ThreadedRun), ToolCpuMs);
        double scheduler = run.ProcessCpu.TotalSeconds - toolCpu - run.LlmDriverCpu.TotalSeconds;
        MeasuredColumn.Record(name, "Overhead %", 100 * scheduler / toolCpu);
        MeasuredColumn.Record(name, "LLM driver %", 100 * run.LlmDriverCpu.TotalSeconds / toolCpu);
        MeasuredColumn.Record(name, "CPU util %", 100 * run.ProcessCpu.TotalSeconds / run.WallWindow.TotalSeconds / run.Cores);
        Console.WriteLine($"// {name}: tool CPU {toolCpu:0.###} s, LLM driver {run.LlmDriverCpu.TotalSeconds:0.###} s, process CPU {run.ProcessCpu.TotalSeconds:0.###} s, wall {run.WallWindow.TotalSeconds:0.###} s, {run.Cores} cores, load {CpuTime.LoadAverage()}");
    }

    [Benchmark]
    public long CoordinatorOnly()
    {
        var options = new AgentSchedulerOptions { Agents = 64, Workers = 16, MaxBatch = 32 };
        var costs = new FixedToolCost(_ => new ToolCost(TimeSpan.FromMilliseconds(ToolCpuMs), 50));
        var sim = new SimulatedAgentRunner(new JobGenerator(_profile, 1), options, new LatencyModel { TtftMs = 5, TpotMs = 2 }, costs, new AgentRunTiming(TimeSpan.Zero, TimeSpan.FromSeconds(60)));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        sim.Run();
        MeasuredColumn.Record(MeasuredColumn.Key(nameof(CoordinatorOnly), ToolCpuMs), "ns/event", sw.Elapsed.TotalNanoseconds / sim.EventsHandled);
        return sim.EventsHandled;
    }
}

/// <summary>Burns a fixed CPU time of its own thread (not wall time), so the tool CPU is known whatever else runs.</summary>
public sealed class CpuSpinTool(double cpuMs) : IAgentTool
{
    public string Name => "spin";

    public string Description => "burns CPU";

    public IReadOnlyDictionary<string, string> Parameters { get; } = new Dictionary<string, string>();

    public void Validate(ToolMixEntry entry, AgentProfile profile)
    {
    }

    public void Prepare(ToolEnvironment environment)
    {
    }

    public ToolOutput Invoke(ToolCallPlan call, ToolContext context)
    {
        TimeSpan until = CpuTime.CurrentThread() + TimeSpan.FromMilliseconds(cpuMs);
        double x = 1;
        while (CpuTime.CurrentThread() < until)
        {
            for (int i = 0; i < 2000; i++)
            {
                x = (x * 1.0000001) + 1e-9;
            }
        }

        return new ToolOutput(x > 0 ? "done" : "never");
    }

    public void Dispose()
    {
    }
}
