using Harness.Hardware.Catalog;
using Harness.Tests.Projection;

namespace Harness.Tests.Hardware.Catalog;

public class HardwareCatalogTests
{
    private static readonly HardwareCatalog Catalog = HardwareCatalog.Default;

    public static TheoryData<string> RequiredGpus => new() { "a100-sxm", "l4", "l40s", "h100-sxm", "h200", "b200", "gb200", "gb300", "mi300x", "mi325x", "mi355x" };

    [Theory]
    [MemberData(nameof(RequiredGpus))]
    public void Every_required_gpu_has_peaks_memory_bandwidth_link_and_power(string id)
    {
        HardwareSpec d = Catalog.Get(id);
        Assert.True(d.IsGpu);
        Assert.NotNull(d.PeakFlops("bf16"));
        Assert.NotNull(d.MemoryGb);
        Assert.NotNull(d.PeakBandwidth);
        Assert.NotNull(d.ScaleUp?.BandwidthGbps);
        Assert.True(d.DomainGpus >= 8);
        Assert.NotNull(d.PowerW);
        Assert.NotEmpty(d.NvmlNames);
    }

    [Fact]
    public void Every_number_has_a_known_source_and_an_iso_date()
    {
        foreach (HardwareSpec d in Catalog.Devices)
        {
            foreach (Quantity q in Quantities(d))
            {
                Assert.True(q.Source is not null && Catalog.Sources.ContainsKey(q.Source), $"{d.Id}: source {q.Source}");
                Assert.NotNull(CatalogFile.ParseDate(q.Date));
                Assert.Contains(q.Grade, new[] { "V", "S", "U" });
            }
        }
    }

    [Fact]
    public void Units_are_consistent_ridge_points_land_where_the_research_puts_them()
    {
        // Peak FLOP/s over bytes/s, research/capacity.md section 2: H100 295, H200 206, A100 153, B200 281.
        Assert.InRange(Ridge("h100-sxm"), 290, 300);
        Assert.InRange(Ridge("h200"), 200, 212);
        Assert.InRange(Ridge("a100-sxm"), 150, 156);
        Assert.InRange(Ridge("b200"), 275, 287);
        static double Ridge(string id) => Catalog.Get(id).PeakFlops("bf16")!.Value / Catalog.Get(id).PeakBandwidth!.Value;
    }

    [Theory]
    [MemberData(nameof(RequiredGpus))]
    public void Lower_precision_is_never_slower_and_measured_ceilings_stay_under_the_datasheet(string id)
    {
        HardwareSpec d = Catalog.Get(id);
        if (d.PeakFlops("fp8") is { } fp8)
        {
            Assert.True(fp8 >= d.PeakFlops("bf16"));
            Assert.True(d.PeakFlops("fp4") is null || d.PeakFlops("fp4") >= fp8);
        }

        Assert.True(d.MeasuredFlops("bf16") is null || d.MeasuredFlops("bf16") < d.PeakFlops("bf16"));
        Assert.True(d.MeasuredBandwidth is null || d.MeasuredBandwidth < d.PeakBandwidth);
        Assert.True(d.UsableMemoryBytes <= d.MemoryGb!.Value * 1e9);
    }

    [Fact]
    public void Known_figures_are_read_as_published()
    {
        Assert.Equal(989e12, Catalog.Get("h100").PeakFlops("bf16"));
        Assert.Equal(989e12, Catalog.Get("h100").PeakFlops("fp16"));
        Assert.Equal(4.8e12, Catalog.Get("h200").PeakBandwidth);
        Assert.Equal(180e9, Catalog.Get("b200").UsableMemoryBytes);
        Assert.Equal(72, Catalog.Get("gb200").DomainGpus);
        Assert.Equal(15000e12, Catalog.Get("gb300").PeakFlops("fp4"));
        Assert.Equal(396e9, Catalog.Get("h200").LinkBandwidth);  // measured beats the 450 GB/s datasheet
        Assert.Equal(450e9, Catalog.Get("h100-sxm").LinkBandwidth);
    }

    [Fact]
    public void The_dev_cpu_is_a_measured_entry()
    {
        HardwareSpec cpu = Catalog.Get("epyc-dev-2c");
        Assert.False(cpu.IsGpu);
        Assert.Empty(cpu.PeakDenseTflops);
        Assert.Equal(0.186e12, cpu.MeasuredFlops("fp32")!.Value, 3);
        Assert.Same(cpu, Catalog.Match(SyntheticRuns.Fingerprint(null, "AMD EPYC", 2)));
        Assert.Null(Catalog.Match(SyntheticRuns.Fingerprint(null, "AMD EPYC", 64)));
    }

    [Theory]
    [InlineData("NVIDIA H100 80GB HBM3", "h100-sxm")]
    [InlineData("NVIDIA H200", "h200")]
    [InlineData("NVIDIA B200", "b200")]
    [InlineData("NVIDIA GB200", "gb200")]
    [InlineData("NVIDIA A100-SXM4-80GB", "a100-sxm")]
    [InlineData("NVIDIA L4", "l4")]
    [InlineData("NVIDIA L40S", "l40s")]
    [InlineData("NVIDIA H100 PCIe", null)]
    [InlineData("NVIDIA H200 NVL", null)]
    public void Nvml_names_match_their_card_and_no_lookalike(string nvml, string? id) =>
        Assert.Equal(id, Catalog.MatchGpuName(nvml)?.Id);

    [Fact]
    public void An_unknown_card_is_bad_input_listing_the_known_ones()
    {
        var e = Assert.Throws<HarnessException>(() => Catalog.Get("tpu-v7"));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("known: a100-sxm, l4", e.Message, StringComparison.Ordinal);
        Assert.Contains("gb300", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_on_an_unknown_gpu_asks_for_from()
    {
        var e = Assert.Throws<HarnessException>(() => Catalog.ForRun(SyntheticRuns.Fingerprint("NVIDIA RTX 4090"), null, "r.json"));
        Assert.Contains("'NVIDIA RTX 4090'", e.Message, StringComparison.Ordinal);
        Assert.Contains("--from", e.Message, StringComparison.Ordinal);
        Assert.Equal("h100-sxm", Catalog.ForRun(SyntheticRuns.Fingerprint("NVIDIA RTX 4090"), "h100", "r.json").Id);
    }

    [Theory]
    [InlineData("\"unit\": \"TFLOP/s\"", "\"unit\": \"GFLOP/s\"", "is in 'GFLOP/s'; this field is in TFLOP/s")]
    [InlineData("\"date\": \"2026-08-22\"", "\"date\": \"Aug 2026\"", "has no date")]
    [InlineData("\"source\": \"s1\", \"date\"", "\"source\": \"nowhere\", \"date\"", "cites source 'nowhere'")]
    [InlineData("\"memory_gb\"", "\"memory_gb_\"", "is a GPU without memory_gb")]
    [InlineData("\"catalog_version\": 1", "\"catalog_version\": 2", "catalog_version 2")]
    public void A_catalog_with_a_wrong_unit_date_source_or_gap_is_refused(string from, string to, string expected)
    {
        const string json = """
            { "catalog_version": 1, "sources": { "s1": { "ref": "x", "date": "2026-08-21" } },
              "devices": [ { "id": "g", "name": "G", "kind": "gpu", "nvml_names": ["G"],
                "peak_dense_tflops": { "bf16": { "value": 100, "unit": "TFLOP/s", "source": "s1", "date": "2026-08-22" } },
                "memory_gb": { "value": 80, "unit": "GB", "source": "s1", "date": "2026-08-22" },
                "memory_bandwidth_tbps": { "value": 3, "unit": "TB/s", "source": "s1", "date": "2026-08-22" },
                "scale_up": { "bandwidth_gbps": { "value": 450, "unit": "GB/s", "source": "s1", "date": "2026-08-22" },
                              "domain_gpus": { "value": 8, "unit": "GPUs", "source": "s1", "date": "2026-08-22" } },
                "power_w": { "value": 700, "unit": "W", "source": "s1", "date": "2026-08-22" } } ] }
            """;
        Assert.Single(HardwareCatalog.Parse(json, "ok.json").Devices);
        string broken = ReplaceFirst(json, from, to);
        Assert.NotEqual(json, broken);
        var e = Assert.Throws<HarnessException>(() => HardwareCatalog.Parse(broken, "bad.json"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    private static string ReplaceFirst(string s, string from, string to)
    {
        int i = s.IndexOf(from, StringComparison.Ordinal);
        return i < 0 ? s : s[..i] + to + s[(i + from.Length)..];
    }

    private static IEnumerable<Quantity> Quantities(HardwareSpec d)
    {
        IEnumerable<Quantity?> all = d.PeakDenseTflops.Values
            .Concat([d.MemoryGb, d.UsableMemoryGb, d.MemoryBandwidthTbps, d.PowerW, d.ScaleUp?.BandwidthGbps, d.ScaleUp?.DomainGpus])
            .Concat(d.Measured?.Tflops.Values ?? Enumerable.Empty<Quantity>())
            .Concat([d.Measured?.MemoryBandwidthTbps, d.Measured?.ScaleUpGbps]);
        return all.OfType<Quantity>();
    }
}
