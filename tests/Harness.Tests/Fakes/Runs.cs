using Harness.Engine;
using Harness.Engine.Scenarios;

namespace Harness.Tests.Fakes;

/// <summary>Short real engine runs on a fake clock, for tests of what comes after the engine.</summary>
public static class Runs
{
    public static EngineResult Fake(int requests = 200, TimeSpan? minDuration = null, IScenario? scenario = null, Func<long, bool>? fails = null, FakeClock? clock = null, int tokens = 0, double maxErrorRate = 0)
    {
        clock ??= new FakeClock();
        var w = new FakeWorkload(clock)
        {
            Latency = i => TimeSpan.FromMilliseconds(10 + (i % 7)),
            Fails = fails ?? (_ => false),
            TokensPerRequest = tokens,
        };
        var settings = new RunSettings
        {
            Scenario = scenario ?? ClosedLoopScenario.Single,
            Warmup = WarmupRule.ForRequests(5),
            Stop = new StopRules(minDuration ?? TimeSpan.FromSeconds(1), requests, TimeSpan.FromHours(2)),
            MaxErrorRate = maxErrorRate,
        };
        return new BenchmarkEngine(clock).Run(w, settings);
    }
}
