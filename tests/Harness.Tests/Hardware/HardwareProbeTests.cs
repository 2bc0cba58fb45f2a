using Harness.Hardware;
using Harness.Tests.Fakes;

namespace Harness.Tests.Hardware;

public class HardwareProbeTests
{
    [Fact]
    public void Reads_this_machine_and_reports_no_gpu_without_nvml()
    {
        HardwareFingerprint hw = HardwareProbe.Probe(new Dictionary<string, string?>(), FakeNvml.Missing);
        Assert.True(hw.Cpu.LogicalCores >= 1);
        Assert.True(hw.MemoryBytes > 0);
        Assert.False(string.IsNullOrEmpty(hw.Kernel));
        Assert.Empty(hw.Gpus);
        Assert.Equal(FakeNvml.Missing.UnavailableReason, hw.GpuNote);
        if (OperatingSystem.IsLinux())
        {
            Assert.NotNull(hw.Glibc);
        }
    }

    [Fact]
    public void Gpus_from_nvml_are_listed_and_name_the_machine()
    {
        var h200 = new GpuInfo(0, "NVIDIA H200", "GPU-1", "580.159.04", 150_000_000_000, 700);
        HardwareFingerprint hw = HardwareProbe.Probe(new Dictionary<string, string?>(), FakeNvml.With(h200));
        Assert.Equal("NVIDIA H200", Assert.Single(hw.Gpus).Name);
        Assert.Null(hw.GpuNote);
        Assert.Equal("nvidia-h200", HardwareProbe.MachineLabel(hw));
    }

    [Fact]
    public void Real_nvml_is_absent_here_or_lists_gpus_without_failing()
    {
        using var nvml = new NvmlLibrary();
        IReadOnlyList<GpuInfo> gpus = nvml.ListGpus();
        if (!nvml.Available)
        {
            Assert.Empty(gpus);
            Assert.NotNull(nvml.UnavailableReason);
        }
    }
}
