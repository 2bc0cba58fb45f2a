namespace Harness.Decoding;

/// <summary>
/// A view of an endpoint that disposing leaves open: one connection to a remote server serves every
/// run of a sweep, and each run disposes what it was given.
/// </summary>
public sealed class SharedEndpoint(ILlmEndpoint inner) : ILlmEndpoint
{
    public string Name => inner.Name;

    public IReadOnlyDictionary<string, object?> Details => inner.Details;

    public int MaxBatch => inner.MaxBatch;

    public LlmBatching Batching => inner.Batching;

    public TimeSpan DriverCpu => inner.DriverCpu;

    public void Submit(LlmRequest request, ILlmStream stream) => inner.Submit(request, stream);

    public void Cancel(LlmRequest request) => inner.Cancel(request);

    public void Observe(IDeviceObserver observer) => inner.Observe(observer);

    public void Run(LlmRequest request, ILlmStream stream, CancellationToken cancellationToken) => inner.Run(request, stream, cancellationToken);

    public void Dispose()
    {
    }
}
