using Harness.Results.Validity;
using Harness.Telemetry;
using Harness.Validity;

namespace Harness.Tests.Results.Validity;

public class TelemetryAliveRuleTests
{
    private static readonly TimeSpan Allowed = TimeSpan.FromSeconds(1);

    private static TelemetryReport WithEnergy(SourceHealth gpu) => new()
    {
        Enabled = true,
        Sources = [gpu],
        Energy = new EnergySummary { Parts = ["gpu:0"], EnergyJ = 100, Method = "counter" },
    };

    private static SourceHealth Healthy() => new() { Name = "gpu", Samples = 100, CoversWindow = true, MaxGapS = 0.1 };

    [Fact]
    public void Passes_without_energy_whatever_the_sampler_did()
    {
        var dead = new TelemetryReport { Enabled = true, Sources = [new SourceHealth { Name = "gpu", Stalled = true }] };

        Assert.True(new TelemetryAliveRule(dead, Allowed).Evaluate(null!).Passed);
        Assert.True(new TelemetryAliveRule(null, Allowed).Evaluate(null!).Passed);
        Assert.True(new TelemetryAliveRule(TelemetryReport.Disabled("off"), Allowed).Evaluate(null!).Passed);
    }

    [Fact]
    public void Passes_with_energy_from_a_live_sampler()
    {
        ValidityCondition c = new TelemetryAliveRule(WithEnergy(Healthy()), Allowed).Evaluate(null!);

        Assert.True(c.Passed, c.Detail);
        Assert.Equal("telemetry_alive", c.Name);
    }

    [Fact]
    public void Fails_with_energy_when_the_sampler_left_a_gap()
    {
        SourceHealth h = Healthy();
        h.MaxGapS = 3.5;

        ValidityCondition c = new TelemetryAliveRule(WithEnergy(h), Allowed).Evaluate(null!);

        Assert.False(c.Passed);
        Assert.Contains("3.5 s without a reading", c.Detail);
    }

    [Fact]
    public void Fails_with_energy_when_the_sampler_stalled_or_missed_an_edge()
    {
        SourceHealth stalled = Healthy();
        stalled.Stalled = true;
        SourceHealth late = Healthy();
        late.CoversWindow = false;

        Assert.False(new TelemetryAliveRule(WithEnergy(stalled), Allowed).Evaluate(null!).Passed);
        Assert.False(new TelemetryAliveRule(WithEnergy(late), Allowed).Evaluate(null!).Passed);
    }
}
