using Harness.Engine;
using Harness.Measurement;
using Harness.Metrics;

namespace Harness.Decoding;

/// <summary>
/// <c>latency-model</c>: a step-level decoder that takes the modeled time for every iteration by
/// waiting on the clock, without using a CPU core; it models time, not text (every token it emits is 0). Iterations issued back to back are timed from the previous
/// deadline rather than from the late wake-up, so waking late never accumulates over a long decode;
/// and the typical lateness of a wake-up (a moving average) is aimed off, so that an isolated
/// iteration (a prefill, the measured TTFT) also lasts the modeled time on a loaded machine.
/// It takes sequences into a running batch, and as many as it is given slots (the model's
/// per-sequence slope says what a batch costs).
/// </summary>
public sealed class LatencyModelDecoder : IStepDecoder
{
    private readonly IClock _clock;
    private readonly IWaiter _waiter;
    private readonly long _backToBackTicks;
    private long _lastDeadline = long.MinValue;
    private double _lateTicks;

    /// <summary>Slots when nothing says otherwise: more than any batch the agents or generate ask for.</summary>
    public const int DefaultSlots = 4096;

    public LatencyModelDecoder(LatencyModel model, IClock? clock = null, IWaiter? waiter = null, int slots = DefaultSlots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        Model = model;
        Slots = slots;
        _clock = clock ?? StopwatchClock.Instance;
        _waiter = waiter ?? new PreciseWaiter(_clock);
        _backToBackTicks = _clock.Frequency / 1000; // 1 ms
        var details = model.Describe();
        details[ConfigKeys.LlmBackend] = Name;
        Details = details;
    }

    public LatencyModel Model { get; }

    /// <summary>A decoder whose steps return at once, for a caller that simulates their time (<see cref="LatencyModel.IterationMs(IReadOnlyList{DecodeSequence}, IReadOnlyList{DecodeSequence})"/>) on its own timeline.</summary>
    public static LatencyModelDecoder Untimed(LatencyModel model, int slots) => new(model, StopwatchClock.Instance, NoWait.Instance, slots);

    public string Name => "latency-model";

    public int Slots { get; }

    public bool SupportsJoining => true;

    public IReadOnlyDictionary<string, object?> Details { get; }

    public void Step(IReadOnlyList<DecodeSequence> joining, IReadOnlyList<DecodeSequence> running, CancellationToken cancellationToken)
    {
        Occupy(Model.IterationMs(joining, running), cancellationToken);
        for (int i = 0; i < joining.Count; i++)
        {
            joining[i].Emit(0);
        }

        for (int i = 0; i < running.Count; i++)
        {
            running[i].Emit(0);
        }
    }

    public void Release(DecodeSequence sequence)
    {
    }

    public void Dispose()
    {
    }

    private void Occupy(double ms, CancellationToken cancellationToken)
    {
        long now = _clock.Timestamp;
        long ticks = (long)(ms * _clock.Frequency / 1000.0);
        // Back to back: the scheduler issued this iteration as the previous one ended; a gap of up
        // to half an iteration (1 to 5 ms) is a late wake-up or the scheduler's turn, not idle time.
        long gap = Math.Clamp(ticks / 2, _backToBackTicks, 5 * _backToBackTicks);
        bool backToBack = _lastDeadline != long.MinValue && Math.Abs(now - _lastDeadline) <= gap;
        long start = backToBack ? _lastDeadline : now;
        long deadline = start + ticks;
        _lastDeadline = deadline;
        long aim = Math.Max(start, deadline - (long)_lateTicks);
        _waiter.WaitUntil(aim, cancellationToken);
        long lateness = _clock.Timestamp - aim;
        _lateTicks = (0.8 * _lateTicks) + (0.2 * Math.Clamp(lateness, 0, Math.Min(gap, ticks / 2)));
    }

    private sealed class NoWait : IWaiter
    {
        public static readonly NoWait Instance = new();

        public void WaitUntil(long timestamp, CancellationToken cancellationToken)
        {
        }
    }
}
