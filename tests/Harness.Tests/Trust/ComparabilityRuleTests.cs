using System.Xml.Linq;
using Harness.Gate;
using Harness.Hardware;
using Harness.Results;
using Harness.Testing;
using Harness.Trust.Comparability;

namespace Harness.Tests.Trust;

/// <summary>The one rule that says whether runs can be compared like for like (issue 13, item 1).</summary>
public class ComparabilityRuleTests
{
    private const string EpycCpuinfo = """
        processor	: 0
        vendor_id	: AuthenticAMD
        cpu family	: 25
        model		: 17
        model name	: AMD EPYC
        stepping	: 1
        microcode	: 0x1000065
        flags		: fpu sse4_2 avx f16c avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16 avx512_vnni

        processor	: 1
        vendor_id	: AuthenticAMD
        """;

    private const string GravitonCpuinfo = """
        processor	: 0
        BogoMIPS	: 2100.00
        Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm svebf16 i8mm bf16 dgh rng
        CPU implementer	: 0x41
        CPU architecture: 8
        CPU variant	: 0x1
        CPU part	: 0xd40
        CPU revision	: 1
        """;

    [Fact]
    public void The_cpu_identity_comes_from_proc_cpuinfo()
    {
        CpuInfo cpu = HardwareProbe.WithIdentity(new CpuInfo("AMD EPYC", 2, []), EpycCpuinfo.Split('\n'));

        Assert.Equal("AuthenticAMD", cpu.Vendor);
        Assert.Equal((25, 17, 1), (cpu.Family!.Value, cpu.ModelNumber!.Value, cpu.Stepping!.Value));
        Assert.Equal("0x1000065", cpu.Microcode);
        Assert.Equal(["avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "sse4_2", "avx", "f16c", "avx512bw", "avx512vl", "avx512dq", "avx512cd"], cpu.Features);
        Assert.Equal(HardwareProbe.CheckedFeatures, cpu.CheckedFeatures);
    }

    [Fact]
    public void An_arm_cpu_is_identified_by_implementer_part_and_revision()
    {
        CpuInfo cpu = HardwareProbe.WithIdentity(new CpuInfo("Neoverse-V1", 64, []), GravitonCpuinfo.Split('\n'));

        Assert.Equal("0x41", cpu.Vendor);
        Assert.Equal((8, 0xd40, 0x11), (cpu.Family!.Value, cpu.ModelNumber!.Value, cpu.Stepping!.Value));
        Assert.Equal(["sve", "asimd", "asimdhp", "asimddp", "bf16", "i8mm"], cpu.Features);
    }

    [Fact]
    public void An_isa_difference_moves_speed_and_names_the_flags_on_each_side()
    {
        ResultDocument avx512 = Doc(Epyc(avx512: true)), avx2 = Doc(Epyc(avx512: false));

        IReadOnlyList<FingerprintDifference> d = ComparabilityRule.Differences(avx512, avx2);

        FingerprintDifference features = Assert.Single(d, x => x.MovesSpeed);
        Assert.Equal(DifferenceArea.Hardware, features.Area);
        Assert.Equal("cpu features: avx2, fma, avx512f, avx512_bf16, avx512_vnni -> avx2, fma (only in base: avx512f, avx512_bf16, avx512_vnni)", features.ToString());
        Assert.Equal(ComparabilityRule.AllowHardwareFlag, features.AllowedBy);
    }

    [Fact]
    public void A_file_that_looked_for_fewer_flags_is_compared_over_the_flags_both_looked_for()
    {
        CpuInfo legacy = Epyc(avx512: true);
        CpuInfo today = HardwareProbe.WithIdentity(legacy, EpycCpuinfo.Split('\n'));

        Assert.DoesNotContain(ComparabilityRule.Differences(Doc(legacy), Doc(today)), d => d.Field == "cpu features");
    }

    [Fact]
    public void Hostname_kernel_and_the_harness_build_are_listed_as_harmless()
    {
        ResultDocument a = Doc(Epyc(true)), b = Doc(Epyc(true), host: "other", kernel: "6.1.0-18-amd64", version: "1.0.0+def");

        IReadOnlyList<FingerprintDifference> d = ComparabilityRule.Differences(a, b);

        Assert.All(d, x => Assert.False(x.MovesSpeed));
        Assert.Equal(["harness build", "hostname", "kernel"], d.Select(x => x.Field).Order());
    }

    [Fact]
    public void Runtimes_gpus_and_the_harness_release_move_speed()
    {
        var h100 = new GpuInfo(0, "NVIDIA H100 80GB HBM3", "GPU-1", "580.1", 80L << 30, 700) { MigMode = "disabled", MaxSmClockMhz = 1980 };
        ResultDocument a = Doc(Epyc(true), gpus: [h100], packages: new Dictionary<string, string?> { ["onnxruntime"] = "1.31.0" });
        ResultDocument b = Doc(Epyc(true), gpus: [h100 with { PowerLimitW = 500, MigMode = "enabled", Driver = "575.2" }],
            packages: new Dictionary<string, string?> { ["onnxruntime"] = "1.32.0" }, version: "2.0.0+abc");

        var fields = ComparabilityRule.Differences(a, b).Where(x => x.MovesSpeed).Select(x => $"{x.Field}|{x.Area}").ToList();

        string[] expected = ["gpu 0 power limit|Hardware", "gpu 0 MIG mode|Hardware", "gpu 0 driver|Runtime", "onnxruntime|Runtime", "harness release|Runtime"];
        Assert.Equal(expected.Order(StringComparer.Ordinal), fields.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Workload_settings_move_speed_run_length_and_seed_do_not_and_absent_keys_are_not_differences()
    {
        ResultDocument a = Doc(Epyc(true)), b = Doc(Epyc(true));
        a.Config["threads"] = 1;
        b.Config["threads"] = 2;
        a.Config["model_sha256"] = "aa";
        b.Config["model_sha256"] = "bb";
        a.Config["seed"] = 42;
        b.Config["seed"] = 7;
        a.Config["dtype"] = "fp16"; // b does not record it: not a difference

        var d = ComparabilityRule.Differences(a, b).ToDictionary(x => x.Field);

        Assert.Equal(DifferenceArea.Workload, d["config threads"].Area);
        Assert.Equal(DifferenceArea.Workload, d["config model_sha256"].Area);
        Assert.Equal(ComparabilityRule.AllowConfigFlag, d["config threads"].AllowedBy);
        Assert.Equal(DifferenceArea.Harmless, d["config seed"].Area);
        Assert.False(d.ContainsKey("config dtype"));
    }

    [Fact]
    public void The_gate_refuses_runs_not_like_for_like_listing_each_difference()
    {
        var e = Assert.Throws<HarnessException>(() => RegressionGate.Compare([Doc(Epyc(true))], [Doc(Epyc(false))], new GateOptions()));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal("The runs cannot be compared like for like: they differ in what moves speed: cpu features: avx2, fma, avx512f, avx512_bf16, avx512_vnni -> avx2, fma "
            + "(only in base: avx512f, avx512_bf16, avx512_vnni) (base #1 vs current #1); compare them anyway with --allow-hardware-change, and every view will say so.", e.Message);
    }

    [Fact]
    public void Allowed_the_difference_is_stated_at_the_top_of_every_view()
    {
        GateReport report = RegressionGate.Compare([Doc(Epyc(true))], [Doc(Epyc(false))], new GateOptions { AllowHardwareChange = true });

        string text = GateTextReport.Render(report), md = GateMarkdownReport.Render(report);
        var junit = XDocument.Parse(GateJUnitReport.Render(report));

        string line = "NOT LIKE FOR LIKE (allowed by --allow-hardware-change)";
        Assert.StartsWith(line, text.Split('\n')[1][2..], StringComparison.Ordinal);
        Assert.StartsWith("> :warning: " + line, md.Split('\n')[2], StringComparison.Ordinal);
        Assert.StartsWith(line, junit.Descendants("property").Single(p => p.Attribute("name")!.Value == "warning_1").Attribute("value")!.Value, StringComparison.Ordinal);
        Assert.Contains("cpu features", text.Split('\n')[1], StringComparison.Ordinal);
    }

    [Fact]
    public void An_ab_job_names_its_settings_as_what_was_compared()
    {
        ResultDocument a = Doc(Epyc(true)), b = Doc(Epyc(true));
        a.Config["threads"] = 1;
        b.Config["threads"] = 2;

        GateReport report = RegressionGate.Compare([a], [b], new GateOptions { ComparingConfigurations = true });

        Assert.Equal("Configurations compared: config threads: 1 -> 2.", Assert.Single(report.Warnings));
    }

    internal static CpuInfo Epyc(bool avx512) =>
        new("AMD EPYC", 2, avx512 ? ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni"] : ["avx2", "fma"]);

    internal static ResultDocument Doc(CpuInfo cpu, string host = "vm", string kernel = "6.1.0-17-amd64", string version = "1.0.0+abc", IReadOnlyList<GpuInfo>? gpus = null, Dictionary<string, string?>? packages = null)
    {
        ResultDocument doc = SyntheticResults.Make(SyntheticResults.LogNormal(new Random(1), 100, 20, 0.1));
        doc.HarnessVersion = version;
        doc.Hardware = new HardwareFingerprint
        {
            Cpu = cpu,
            MemoryBytes = 25_276_502_016,
            Os = "Debian GNU/Linux 12 (bookworm)",
            Kernel = kernel,
            Glibc = "2.36",
            Dotnet = ".NET 10.0.12",
            Hostname = host,
            Packages = packages ?? new Dictionary<string, string?> { ["onnxruntime"] = "1.31.0" },
            Gpus = gpus ?? [],
        };
        return doc;
    }
}
