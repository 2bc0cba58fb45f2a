using Harness.Engine;

namespace Harness.Agents.Llm;

/// <summary>
/// <c>latency-model</c>: an LLM device that takes the modeled time for every iteration by waiting on
/// the clock, without using a CPU core. Iterations issued back to back are timed from the previous
/// deadline rather than from the late wake-up, so waking late never accumulates over a long decode.
/// It batches any number of sequences (the model's per-sequence slope says what a batch costs).
/// </summary>
public sealed class LatencyModelExecutor : ILlmStepExecutor
{
    private readonly IClock _clock;
    private readonly IWaiter _waiter;
    private readonly long _backToBackTicks;
    private long _lastDeadline = long.MinValue;

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

    public void Prefill(IReadOnlyList<LlmSequence> joining, CancellationToken cancellationToken)
    {
        int tokens = 0;
        foreach (LlmSequence s in joining)
        {
            tokens += s.PrefillTokens;
        }

        Occupy(Model.PrefillMs(tokens), cancellationToken);
    }

    public void Decode(IReadOnlyList<LlmSequence> running, CancellationToken cancellationToken) =>
        Occupy(Model.DecodeMs(running.Count), cancellationToken);

    public void Release(LlmSequence sequence)
    {
    }

    public void Dispose()
    {
    }

    private void Occupy(double ms, CancellationToken cancellationToken)
    {
        long now = _clock.Timestamp;
        long start = now - _lastDeadline is >= 0 and var late && late <= _backToBackTicks ? _lastDeadline : now;
        long deadline = start + (long)(ms * _clock.Frequency / 1000.0);
        _lastDeadline = deadline;
        _waiter.WaitUntil(deadline, cancellationToken);
    }
}
