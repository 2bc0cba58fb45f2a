using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Reporting;
using Harness.Agents.Scheduling;
using Harness.Decoding;

namespace Harness.Tests.Agents.Reporting;

public class CoresPerGpuTests
{
    private static readonly AgentRunTiming Sim = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60));

    [Fact]
    public void The_crossing_is_the_first_point_at_90_percent_interpolated_from_the_one_before()
    {
        CurvePoint P(int w, double b) => new(w, b, 0, b);
        Assert.Equal((4, 3.5), CoresPerGpu.Crossing([P(1, 0.3), P(2, 0.6), P(3, 0.85), P(4, 0.95)]));
        Assert.Equal((1, 1.0), CoresPerGpu.Crossing([P(1, 0.97), P(2, 0.99)]));
        Assert.Equal((null, null), CoresPerGpu.Crossing([P(1, 0.3), P(2, 0.5)]));
    }

    [Fact]
    public void Projection_finds_the_fewest_workers_on_a_monotone_curve()
    {
        // 16 agents on 2 batch slots: the device is the bottleneck once the tools keep up.
        AgentProfile p = AgentTestProfiles.Fixed(agents: 16, maxBatch: 2);
        var options = new AgentSchedulerOptions { Agents = 16, Workers = 1, MaxBatch = 2, BatchWindow = TimeSpan.Zero };
        var costs = new FixedToolCost(_ => new ToolCost(TimeSpan.FromMilliseconds(50), 10));
        AgentProjection proj = CoresPerGpu.Project("test", new JobGenerator(p, 1), options, new LatencyModel { TtftMs = 10, TpotMs = 5 }, costs, Sim);

        int cores = Assert.NotNull(proj.CoresPerGpuFor90pctBusy);
        var curve = proj.Curve.ToDictionary(c => c.Workers);
        Assert.True(curve[cores].LlmBusyFraction >= 0.9);
        Assert.True(cores == 1 || curve[cores - 1].LlmBusyFraction < 0.9);
        Assert.InRange(cores, 2, 8);
        var ordered = proj.Curve.OrderBy(c => c.Workers).ToList();
        for (int i = 1; i < ordered.Count; i++)
        {
            Assert.True(ordered[i].LlmBusyFraction >= ordered[i - 1].LlmBusyFraction - 0.01, $"busy fell from {ordered[i - 1].Workers} to {ordered[i].Workers} workers");
            Assert.True(ordered[i].JobsPerHour >= ordered[i - 1].JobsPerHour * 0.99);
        }
    }

    [Fact]
    public void Too_few_agents_make_90_percent_unreachable_and_say_so()
    {
        AgentProfile p = AgentTestProfiles.Fixed(agents: 2, maxBatch: 8);
        var options = new AgentSchedulerOptions { Agents = 2, Workers = 1, MaxBatch = 8, BatchWindow = TimeSpan.Zero };
        var costs = new FixedToolCost(_ => new ToolCost(TimeSpan.FromMilliseconds(200), 10));
        AgentProjection proj = CoresPerGpu.Project("test", new JobGenerator(p, 1), options, new LatencyModel { TtftMs = 10, TpotMs = 5 }, costs, Sim);
        Assert.Null(proj.CoresPerGpuFor90pctBusy);
        Assert.Contains("unreachable with 2 agents", proj.Note);
        Assert.True(proj.MaxLlmBusyFraction < 0.9);
    }
}
