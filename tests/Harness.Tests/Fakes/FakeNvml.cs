using Harness.Hardware;

namespace Harness.Tests.Fakes;

/// <summary>An NVML that reports the GPUs it is given (none by default).</summary>
public sealed class FakeNvml(params GpuInfo[] gpus) : INvml
{
    public bool Available => gpus.Length > 0;

    public string? UnavailableReason => gpus.Length > 0 ? null : "fake: no NVML";

    public IReadOnlyList<GpuInfo> ListGpus() => gpus;
}
