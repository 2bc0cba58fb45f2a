using Harness.Backends;
using Harness.Metrics;
using Harness.Models;
using Harness.Results;
using Harness.Testing;

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
        using var dir = new SyntheticResults.TempFolder();
        string Ceiling(string name, MetricDefinition metric, double value)
        {
            ResultDocument doc = SyntheticResults.Make([1, 2, 3], workload: name);
            doc.Metrics.Set(metric, value);
            return SyntheticResults.Write(dir.Path, name + ".json", doc);
        }

        string[] files =
        [
            Ceiling("gemm", MetricCatalog.AchievedFlopsPerS, 1.5e11),
            Ceiling("copy", MetricCatalog.AchievedBytesPerS, 1.0e10),
            Ceiling("read", MetricCatalog.AchievedBytesPerS, 2.0e10),
        ];

        PeakRates m = PeakRates.Measured(files)!;

        Assert.Equal(1.5e11, m.FlopsPerS);
        Assert.Equal(2.0e10, m.BytesPerS);
        Assert.Contains("read.json", m.Source);
    }

    [Fact]
    public void A_ceiling_file_that_is_not_a_result_is_bad_input()
    {
        using var dir = new SyntheticResults.TempFolder();
        string path = Path.Combine(dir.Path, "gemm.json");
        File.WriteAllText(path, """{ "metrics": { "achieved_flops_per_s": 1.5e11 } }""");

        var e = Assert.Throws<HarnessException>(() => PeakRates.Measured([path]));

        Assert.Equal($"Result file '{path}' is not a harness result: it has no schema_version.", e.Message);
    }
}
