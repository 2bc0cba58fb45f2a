using System.Diagnostics;
using Harness.Backends;
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

/// <summary>A backend "fake:cpu" with one workload, "spin" (2 ms per request), for runs through <see cref="Running.BenchmarkRunner"/>.</summary>
public sealed class FakeBackendProvider : IBackendProvider
{
    public string Runtime => "fake";

    public IReadOnlyList<string> Devices => ["cpu", "cuda"];

    public IReadOnlyList<WorkloadInfo> Workloads => [new("spin", "spins 2 ms per request")];

    public KeyValuePair<string, string?> PackageVersion => new("fake", "1.0");

    public DoctorCheck CheckDevice(string device) => new(device, true, "fake");

    public IReadOnlyList<DoctorCheck> Diagnose() => [];

    public IWorkload Create(string workload, BackendSpec backend, WorkloadOptions options) => new SpinWorkload(TimeSpan.FromMilliseconds(2));

    public static BackendRegistry Registry() => new([new FakeBackendProvider()]);
}
