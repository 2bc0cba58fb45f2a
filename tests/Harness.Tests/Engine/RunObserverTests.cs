using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Measurement;
using Harness.Tests.Fakes;

namespace Harness.Tests.Engine;

public class RunObserverTests
{
    private static RunSettings Settings(IScenario scenario) => new()
    {
        Scenario = scenario,
        Warmup = WarmupRule.ForRequests(5),
        Stop = new StopRules(TimeSpan.Zero, 40, TimeSpan.FromMinutes(1)),
    };

    [Fact]
    public void Observer_hears_the_phases_in_order_and_every_measured_request_but_no_warm_up()
    {
        var observer = new RecordingObserver();
        var engine = new BenchmarkEngine(StopwatchClock.Instance, observer);

        EngineResult run = engine.Run(new SpinWorkload(TimeSpan.Zero), Settings(ClosedLoopScenario.Concurrency(3)));

        Assert.Equal([RunPhases.Preparing, RunPhases.WarmUp, RunPhases.Measuring, RunPhases.Done], observer.Phases.Select(p => p.Phase));
        Assert.Equal(run.TotalRequests, observer.Requests);
        Assert.Equal(run.OutputUnits, observer.OutputUnits);
        Assert.Equal(run.InputUnits, observer.InputUnits);
        Assert.True(observer.Phases[2].Timestamp <= run.WindowStart, "the measuring call comes before the window opens");
        Assert.True(observer.Phases[3].Timestamp >= run.WindowEnd, "the done call comes after the last request");
    }

    [Fact]
    public void A_throwing_observer_never_stops_the_run()
    {
        var composite = new CompositeRunObserver([new ThrowingObserver(), new RecordingObserver()]);

        EngineResult run = new BenchmarkEngine(StopwatchClock.Instance, composite).Run(new SpinWorkload(TimeSpan.Zero), Settings(ClosedLoopScenario.Single));

        Assert.Equal(40, run.TotalRequests);
        Assert.Equal(4 + 40, composite.Failures);
        Assert.Contains("ThrowingObserver", composite.LastFailure);
    }

    private sealed class RecordingObserver : IRunObserver
    {
        private long _requests, _input, _output;

        public List<(string Phase, long Timestamp)> Phases { get; } = [];

        public long Requests => _requests;

        public long InputUnits => _input;

        public long OutputUnits => _output;

        public void PhaseStarted(string phase, long timestamp) => Phases.Add((phase, timestamp));

        public void RequestEnded(RequestOutcome outcome, long latencyTicks, int inputUnits, int outputUnits)
        {
            Interlocked.Increment(ref _requests);
            Interlocked.Add(ref _input, inputUnits);
            Interlocked.Add(ref _output, outputUnits);
        }
    }

    private sealed class ThrowingObserver : IRunObserver
    {
        public void PhaseStarted(string phase, long timestamp) => throw new InvalidOperationException("boom");

        public void RequestEnded(RequestOutcome outcome, long latencyTicks, int inputUnits, int outputUnits) => throw new InvalidOperationException("boom");
    }
}
