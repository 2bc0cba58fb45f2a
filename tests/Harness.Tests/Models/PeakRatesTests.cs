using Harness.Models;

namespace Harness.Tests.Models;

public class PeakRatesTests
{
    [Fact]
    public void Gpu_peaks_come_from_the_hardware_catalog()
    {
        PeakRates? h100 = PeakRates.ForGpu("NVIDIA H100 80GB HBM3", TensorDType.BFloat16);
        Assert.NotNull(h100);
        Assert.Equal(989e12, h100.FlopsPerS!.Value, 1e9);
        Assert.Equal(3.35e12, h100.BytesPerS!.Value, 1e9);
        Assert.Equal(h100.FlopsPerS, PeakRates.ForGpu("NVIDIA H100 80GB HBM3", TensorDType.Float16)!.FlopsPerS);
    }

    [Fact]
    public void Cpus_and_unknown_cards_have_no_catalog_peak()
    {
        Assert.Null(PeakRates.ForGpu(null, TensorDType.Float32));
        Assert.Null(PeakRates.ForGpu("Some Future Card", TensorDType.BFloat16));
    }

    [Fact]
    public void Measured_ceilings_take_the_best_of_the_gemm_and_copy_results()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ceil-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "gemm.json"), """{ "metrics": { "achieved_flops_per_s": 1.5e11 } }""");
            File.WriteAllText(Path.Combine(dir, "copy.json"), """{ "metrics": { "achieved_bytes_per_s": 1.0e10 } }""");
            File.WriteAllText(Path.Combine(dir, "read.json"), """{ "metrics": { "achieved_bytes_per_s": 2.0e10 } }""");
            PeakRates m = PeakRates.Measured(Directory.GetFiles(dir).Order())!;
            Assert.Equal(1.5e11, m.FlopsPerS);
            Assert.Equal(2.0e10, m.BytesPerS);
            Assert.Contains("read.json", m.Source);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
