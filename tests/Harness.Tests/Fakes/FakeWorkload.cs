using Harness.Engine;

namespace Harness.Tests.Fakes;

/// <summary>
/// A workload whose requests take a scripted time on a <see cref="FakeClock"/>, optionally emitting
/// tokens and failing on chosen requests.
/// </summary>
public sealed class FakeWorkload : IWorkload
{
    private readonly FakeClock _clock;
    private long _executed;

    public FakeWorkload(FakeClock clock) => _clock = clock;

    /// <summary>Latency of request number i (0-based, counting warm-up too).</summary>
    public Func<long, TimeSpan> Latency { get; init; } = _ => TimeSpan.FromMilliseconds(10);

    public int TokensPerRequest { get; init; }

    public TimeSpan TimeToFirstToken { get; init; } = TimeSpan.FromMilliseconds(5);

    public Func<long, bool> Fails { get; init; } = _ => false;

    public Action<long>? OnExecute { get; init; }

    public long Executed => Interlocked.Read(ref _executed);

    public WorkloadContext? Context { get; private set; }

    public bool Disposed { get; private set; }

    public WorkloadDescription Prepare(WorkloadContext context)
    {
        Context = context;
        return new WorkloadDescription(TokensPerRequest > 0 ? "tokens" : "samples", context.Batch, TokensPerRequest > 0 ? TokensPerRequest : context.Batch, new Dictionary<string, object?> { ["fake"] = true });
    }

    public void Execute(RequestContext request)
    {
        long i = Interlocked.Increment(ref _executed) - 1;
        OnExecute?.Invoke(i);
        TimeSpan total = Latency(i);
        if (TokensPerRequest > 0)
        {
            _clock.Advance(TimeToFirstToken);
            request.MarkToken();
            TimeSpan step = (total - TimeToFirstToken) / Math.Max(1, TokensPerRequest - 1);
            for (int t = 1; t < TokensPerRequest; t++)
            {
                _clock.Advance(step);
                request.MarkToken();
            }
        }
        else
        {
            _clock.Advance(total);
        }

        if (Fails(i))
        {
            throw new InvalidOperationException($"planted failure");
        }
    }

    public void Dispose() => Disposed = true;
}
