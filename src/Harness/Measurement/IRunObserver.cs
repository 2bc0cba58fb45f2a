namespace Harness.Measurement;

/// <summary>
/// Watches a run while it happens: telemetry samplers start and stop on phase changes, live metrics
/// count each measured request. The engine calls it from its own threads, so implementations must be
/// thread-safe, and <see cref="RequestEnded"/> sits on the hot path: no allocation, no lookup, no lock.
/// </summary>
public interface IRunObserver
{
    /// <summary>
    /// A phase begins: <see cref="RunPhases"/>. For <see cref="RunPhases.Measuring"/> the call comes just
    /// before the measured window opens, and for <see cref="RunPhases.Done"/> just after its last request
    /// ended, so a sampler that reads on both calls brackets the window.
    /// </summary>
    void PhaseStarted(string phase, long timestamp);

    /// <summary>One request of the measured phase ended (warm-up requests are not reported).</summary>
    /// <param name="latencyTicks">End minus scheduled send, in clock ticks.</param>
    void RequestEnded(RequestOutcome outcome, long latencyTicks, int inputUnits, int outputUnits);
}

/// <summary>The phase names shared by <c>Engine.EngineProgress</c> and <see cref="IRunObserver"/>.</summary>
public static class RunPhases
{
    public const string Preparing = "preparing";
    public const string WarmUp = "warm-up";
    public const string Measuring = "measuring";
    public const string Done = "done";

    public static IReadOnlyList<string> All { get; } = [Preparing, WarmUp, Measuring, Done];
}

/// <summary>
/// Several observers as one. A failing observer's phase call is swallowed and counted: telemetry or
/// metrics must never stop a measurement.
/// </summary>
public sealed class CompositeRunObserver : IRunObserver
{
    private readonly IRunObserver[] _observers;
    private long _failures;

    public CompositeRunObserver(IEnumerable<IRunObserver> observers) => _observers = observers.ToArray();

    /// <summary>Phase calls that threw and were ignored.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    public string? LastFailure { get; private set; }

    public void PhaseStarted(string phase, long timestamp)
    {
        foreach (IRunObserver o in _observers)
        {
            try
            {
                o.PhaseStarted(phase, timestamp);
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref _failures);
                LastFailure = $"{o.GetType().Name} at {phase}: {e.GetType().Name}: {e.Message}";
            }
        }
    }

    public void RequestEnded(RequestOutcome outcome, long latencyTicks, int inputUnits, int outputUnits)
    {
        foreach (IRunObserver o in _observers)
        {
            try
            {
                o.RequestEnded(outcome, latencyTicks, inputUnits, outputUnits);
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref _failures);
                LastFailure = $"{o.GetType().Name} at a request: {e.GetType().Name}: {e.Message}";
            }
        }
    }
}
