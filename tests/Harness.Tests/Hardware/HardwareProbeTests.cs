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
        Assert.Equal("nvidia-h200-x1", HardwareProbe.MachineLabel(hw));
        Assert.Equal("nvidia-h200-x2", HardwareProbe.MachineLabel(HardwareProbe.Probe(new Dictionary<string, string?>(), FakeNvml.With(h200, h200 with { Index = 1 }))));
    }

    [Theory]
    [InlineData("AMD EPYC", "avx2 fma avx512f avx512_bf16 avx512_vnni", 2, "cpu-amd-epyc-avx512-2c")]
    [InlineData("AMD EPYC", "avx2 fma", 2, "cpu-amd-epyc-avx2-2c")]
    [InlineData("AMD EPYC", "avx2 fma avx512f", 4, "cpu-amd-epyc-avx512-4c")]
    [InlineData("Intel(R) Xeon(R) Processor", "avx2 fma avx512f amx_bf16 amx_int8", 16, "cpu-intel-xeon-amx-16c")]
    [InlineData("AMD EPYC 9654 96-Core Processor", "avx2 avx512f", 192, "cpu-amd-epyc-9654-avx512-192c")]
    [InlineData("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", "avx2 fma", 12, "cpu-intel-core-i7-8700-avx2-12c")]
    [InlineData("Neoverse-V2", "sve", 72, "cpu-neoverse-v2-sve-72c")]
    [InlineData("A very long model name from a vendor that likes words, rev 2", "", 8, "cpu-a-very-long-model-name-from-a-vendor-base-8c")]
    public void A_cpu_machine_is_named_by_model_isa_level_and_cores(string model, string features, int cores, string label)
    {
        HardwareFingerprint hw = Cpu(model, features.Split(' ', StringSplitOptions.RemoveEmptyEntries), cores);
        Assert.Equal(label, HardwareProbe.MachineLabel(hw));
        Assert.True(label.Length <= 48, label);
    }

    private static HardwareFingerprint Cpu(string model, string[] features, int cores) => new()
    {
        Cpu = new CpuInfo(model, cores, features),
        MemoryBytes = 8L << 30,
        Os = "Debian GNU/Linux 12 (bookworm)",
        Kernel = "6.1.0",
        Glibc = "2.36",
        Dotnet = ".NET 10.0.0",
        Hostname = "vm",
        Packages = new Dictionary<string, string?>(),
        Gpus = [],
    };

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
