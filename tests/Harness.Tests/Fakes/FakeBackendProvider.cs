using Harness.Backends;
using Harness.Engine;

namespace Harness.Tests.Fakes;

/// <summary>A backend "fake:cpu" whose one workload, "sleep", takes real time (so cancellation can be tested).</summary>
public sealed class FakeBackendProvider : IBackendProvider
{
    public string Runtime => "fake";

    public IReadOnlyList<string> Devices { get; } = ["cpu", "gpu"];

    public IReadOnlyList<WorkloadInfo> Workloads { get; } = [new("sleep", "sleeps 1 ms per request")];

    public KeyValuePair<string, string?> PackageVersion => new("fake", "1.0");

    public DoctorCheck CheckDevice(string device) => device == "cpu" ? new("fake:cpu", true, "always") : new("fake:gpu", false, "there is no fake GPU.");

    public IReadOnlyList<DoctorCheck> Diagnose() => [CheckDevice("cpu"), CheckDevice("gpu")];

    public IWorkload Create(string workload, BackendSpec backend, WorkloadOptions options) => new SleepWorkload();

    private sealed class SleepWorkload : IWorkload
    {
        public WorkloadDescription Prepare(WorkloadContext context) => new("samples", context.Batch, context.Batch, new Dictionary<string, object?>());

        public void Execute(RequestContext request) => Task.Delay(1, request.CancellationToken).GetAwaiter().GetResult();

        public void Dispose()
        {
        }
    }
}
