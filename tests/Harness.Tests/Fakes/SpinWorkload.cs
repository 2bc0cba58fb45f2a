using System.Diagnostics;
using Harness.Engine;

namespace Harness.Tests.Fakes;

/// <summary>A workload that spins for a fixed time per request and reports fixed units: real timing, no model.</summary>
public sealed class SpinWorkload(TimeSpan perRequest, string unit = "tokens", int outputUnits = 8) : IWorkload
{
    public WorkloadDescription Prepare(WorkloadContext context) =>
        new(unit, 4, outputUnits, new Dictionary<string, object?> { ["spin_ms"] = perRequest.TotalMilliseconds });

    public void Execute(RequestContext request)
    {
        long until = Stopwatch.GetTimestamp() + (long)(perRequest.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until)
        {
            Thread.SpinWait(20);
        }

        request.MarkToken(outputUnits);
    }

    public void Dispose()
    {
    }
}
