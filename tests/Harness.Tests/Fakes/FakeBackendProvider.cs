using Harness.Backends;
using Harness.Engine;

namespace Harness.Tests.Fakes;

/// <summary>
/// A backend "fake" with devices cpu, cuda (both usable) and gpu (never usable), and two workloads:
/// "sleep" (1 ms per request, observes cancellation) and "spin" (2 ms of busy CPU, 8 tokens).
/// </summary>
public sealed class FakeBackendProvider : IBackendProvider
{
    public string Runtime => "fake";

    public IReadOnlyList<string> Devices { get; } = ["cpu", "cuda", "gpu"];

    public IReadOnlyList<WorkloadInfo> Workloads { get; } = [new("sleep", "sleeps 1 ms per request"), new("spin", "spins 2 ms per request")];

    public KeyValuePair<string, string?> PackageVersion => new("fake", "1.0");

    public static BackendRegistry Registry() => new([new FakeBackendProvider()]);

    public DoctorCheck CheckDevice(string device) => device == "gpu" ? new("fake:gpu", false, "there is no fake GPU.") : new($"fake:{device}", true, "always");

    public IReadOnlyList<DoctorCheck> Diagnose() => Devices.Select(CheckDevice).ToList();

    public IWorkload Create(string workload, BackendSpec backend, WorkloadOptions options) =>
        workload == "spin" ? new SpinWorkload(TimeSpan.FromMilliseconds(2)) : new SleepWorkload();

    private sealed class SleepWorkload : IWorkload
    {
        public WorkloadDescription Prepare(WorkloadContext context) => new("samples", context.Batch, context.Batch, new Dictionary<string, object?>());

        public void Execute(RequestContext request) => Task.Delay(1, request.CancellationToken).GetAwaiter().GetResult();

        public void Dispose()
        {
        }
    }
}
