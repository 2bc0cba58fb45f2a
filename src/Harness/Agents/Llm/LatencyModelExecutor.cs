using Harness.Engine;

namespace Harness.Agents.Llm;

/// <summary>
/// <c>latency-model</c>: an LLM device that takes the modeled time for every iteration by waiting on
/// the clock, without using a CPU core. Iterations issued back to back are timed from the previous
/// deadline rather than from the late wake-up, so waking late never accumulates over a long decode;
/// and the typical lateness of a wake-up (a moving average) is aimed off, so that an isolated
/// iteration (a prefill, the measured TTFT) also lasts the modeled time on a loaded machine.
/// It batches any number of sequences (the model's per-sequence slope says what a batch costs).
/// </summary>
public sealed class LatencyModelExecutor : ILlmStepExecutor
{
    private readonly IClock _clock;
    private readonly IWaiter _waiter;
    private readonly long _backToBackTicks;
    private long _lastDeadline = long.MinValue;
    private double _lateTicks;

    public LatencyModelExecutor(LatencyModel model, IClock? clock = null, IWaiter? waiter = null)
    {
        Model = model;
        _clock = clock ?? StopwatchClock.Instance;
        _waiter = waiter ?? new PreciseWaiter(_clock);
        _backToBackTicks = _clock.Frequency / 1000; // 1 ms
        var details = model.Describe();
        details["llm_backend"] = Name;
        Details = details;
    }

    public LatencyModel Model { get; }

    public string Name => "latency-model";

    public int MaxBatch => 4096;

    public bool SupportsJoining => true;

    public IReadOnlyDictionary<string, object?> Details { get; }

    public void Iterate(IReadOnlyList<LlmSequence> joining, IReadOnlyList<LlmSequence> running, CancellationToken cancellationToken) =>
        Occupy(Model.IterationMs(joining.Count, PrefillTokens(joining), running.Count), cancellationToken);

    public static int PrefillTokens(IReadOnlyList<LlmSequence> joining)
    {
        int tokens = 0;
        foreach (LlmSequence s in joining)
        {
            tokens += s.PrefillTokens;
        }

        return tokens;
    }

    public void Release(LlmSequence sequence)
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
}
