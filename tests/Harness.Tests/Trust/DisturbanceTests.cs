using Harness.Engine;
using Harness.Gate;
using Harness.Hardware;
using Harness.Results;
using Harness.Results.Validity;
using Harness.Telemetry;
using Harness.Testing;
using Harness.Tests.Fakes;
using Harness.Trust;
using Harness.Trust.Disturbance;
using Harness.Validity;

namespace Harness.Tests.Trust;

/// <summary>Issue 18: disturbance measured on the telemetry clock (fake procfs, fake NVML), judged by the quiet-host rule, and seen by the gate.</summary>
public class DisturbanceTests
{
    private readonly FakeSystemFiles _files = new();
    private readonly FakeClock _clock = FakeClock.Milliseconds();

    [Fact]
    public void Other_processes_steal_interrupts_pressure_and_the_clock_come_from_procfs()
    {
        // Two cores at 100 ticks/s. Over 1 s (200 ticks): user+nice+system 150, irq+softirq 6, steal 10, idle 34.
        _files.SetProcStatFields(2, user: 1000, nice: 0, system: 0, idle: 5000, iowait: 0, irq: 0, softirq: 0, steal: 0);
        _files.SetProcessStat(utime: 100, stime: 0, rssPages: 10);
        _files.SetPressure("cpu", someUs: 0, fullUs: 0);
        _files.SetPressure("memory", someUs: 0, fullUs: 0);
        _files.SetPressure("io", someUs: 0, fullUs: 0);
        _files.Files["/proc/cpuinfo"] = "processor\t: 0\ncpu MHz\t\t: 2600.000\n\nprocessor\t: 1\ncpu MHz\t\t: 2400.000\n";
        var source = new CpuSource(_clock.Frequency, _files, clockTicksPerSecond: 100, pageSize: 4096);
        long t0 = _clock.Timestamp;
        source.Sample(t0, windowEdge: true);

        _clock.AdvanceMs(1000);
        _files.SetProcStatFields(2, user: 1140, nice: 5, system: 5, idle: 5034, iowait: 0, irq: 2, softirq: 4, steal: 10);
        // The harness used 0.6 core (50 ticks itself, 10 in a tool process it reaped): others used 150 - 60 = 90 ticks.
        _files.SetProcessStat(utime: 140, stime: 10, rssPages: 10, cutime: 8, cstime: 2);
        _files.SetPressure("cpu", someUs: 250_000, fullUs: 0);
        _files.SetPressure("memory", someUs: 10_000, fullUs: 5_000);
        _files.SetPressure("io", someUs: 0, fullUs: 0);
        _files.Files["/proc/cpuinfo"] = "processor\t: 0\ncpu MHz\t\t: 1500.000\n\nprocessor\t: 1\ncpu MHz\t\t: 1500.000\n";
        source.Sample(_clock.Timestamp, windowEdge: true);

        var report = new TelemetryReport { Enabled = true };
        source.Contribute(new TelemetryWindow(t0, _clock.Timestamp, _clock.Frequency), report);
        Assert.Null(report.Disturbance!.OtherProcessesCores); // the source reads counters; the analysis makes the figures
        HostDisturbance.Analyze(report.Disturbance);
        DisturbanceReport d = report.Disturbance;

        Assert.Equal(0.9, d.OtherProcessesCores!.Value, 6);
        Assert.Equal(0.45, d.OtherProcessesShare!.Value, 6);
        Assert.Equal(0.9, d.OtherProcessesCpuS!.Value, 6);
        Assert.Equal(0.6, d.OwnProcessCores!.Value, 6);
        Assert.Equal(0.06, d.InterruptCores!.Value, 6);
        Assert.Equal(0.05, d.StealShare!.Value, 6);
        Assert.Equal(0.1, d.StealCores!.Value, 6);
        Assert.Equal(0.25, d.PressureCpuSome!.Value, 6);
        Assert.Equal(0.01, d.PressureMemorySome!.Value, 6);
        Assert.Equal(0.005, d.PressureMemoryFull!.Value, 6);
        Assert.Equal((2500, 1500, 2000), (d.CpuFrequencyMaxMhz!.Value, d.CpuFrequencyMinMhz!.Value, d.CpuFrequencyAvgMhz!.Value));
        Assert.Equal(1, d.CpuFrequencyChanges);
        Assert.Equal(0.9, ((double?[])report.Cpu!.Series!.Columns["other_processes_cores"]!)[0]!.Value, 6);
    }

    [Fact]
    public void The_clock_is_read_from_cpufreq_where_it_exists()
    {
        _files.SetProcStat((1, 1), (1, 1));
        _files.SetProcessStat(1, 1, 1);
        _files.Files["/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"] = "3000000\n";
        _files.Files["/sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq"] = "1000000\n";
        var source = new CpuSource(_clock.Frequency, _files, clockTicksPerSecond: 100, pageSize: 4096);
        source.Sample(_clock.Timestamp, windowEdge: true);

        Assert.Equal(2000, source.Live().FrequencyMhz);
    }

    [Fact]
    public void Gpu_neighbours_are_the_listed_processes_but_this_one_and_thermal_slowdown_is_told_from_the_power_cap()
    {
        var nvml = new FakeNvml(2);
        nvml.Processes[0] = [new GpuProcess(4242, 1L << 30), new GpuProcess(777, 2L << 30)];
        nvml.Processes[1] = [new GpuProcess(4242, 1L << 30)];
        nvml.Set(0, new GpuReading(300, null, 0.9, 0.5, 1, 1500, 3000, 80, ClockEventReasons.SwPowerCap | 0x20));
        nvml.Set(1, new GpuReading(300, null, 0.9, 0.5, 1, 1500, 3000, 60, ClockEventReasons.SwPowerCap));
        var source = new GpuSource(nvml, _clock.Frequency, ownPid: 4242);
        long t0 = _clock.Timestamp;
        source.Sample(t0, windowEdge: true);
        _clock.AdvanceMs(2000);
        source.Sample(_clock.Timestamp, windowEdge: true);

        var report = new TelemetryReport { Enabled = true };
        source.Contribute(new TelemetryWindow(t0, _clock.Timestamp, _clock.Frequency), report);
        GpuDisturbance g0 = report.Disturbance!.Gpus[0], g1 = report.Disturbance.Gpus[1];

        Assert.Equal((1, 777, true), (g0.OtherProcesses!.Value, Assert.Single(g0.OtherPids), g0.OwnProcessSeen!.Value));
        Assert.Equal(0, g1.OtherProcesses);
        Assert.Equal((2.0, 2.0), (g0.HardwareThrottleS!.Value, g0.PowerCapS!.Value));
        Assert.Equal((0.0, 2.0), (g1.HardwareThrottleS!.Value, g1.PowerCapS!.Value));
        Assert.Equal(1, source.Live(0).OtherProcesses);

        DisturbanceJudge.Apply(report.Disturbance, DisturbanceLimits.Default, 2);
        Assert.Equal(
            ["1 other process(es) ran on GPU 0 (PID 777); at most 0 allowed", "GPU 0 was in thermal or hardware slowdown for 2 s (100% of the window; at most 10% allowed)"],
            report.Disturbance.Causes);
    }

    [Fact]
    public void The_quiet_host_condition_names_the_cause_and_an_allowed_run_stays_valid_but_noisy()
    {
        EngineResult run = Runs.Fake();
        TelemetryReport Telemetry() => new() { Enabled = true, Disturbance = new DisturbanceReport { OtherProcessesCores = 1.02, OtherProcessesShare = 0.51, StealShare = 0.001 } };

        TelemetryReport strict = Telemetry(), noisy = Telemetry();
        ResultDocument invalid = ResultBuilder.Build(run, "minilm", "onnx:cpu", null, telemetry: strict);
        ResultDocument allowed = ResultBuilder.Build(run, "minilm", "onnx:cpu", null, telemetry: noisy, disturbanceLimits: DisturbanceLimits.Default with { AllowNoisy = true });
        ResultDocument quiet = ResultBuilder.Build(run, "minilm", "onnx:cpu", null, telemetry: Telemetry(), disturbanceLimits: DisturbanceLimits.Parse(["cpu=1.5"]));

        ValidityCondition failed = invalid.Validity.Single(v => v.Name == QuietHostRule.Name);
        Assert.False(invalid.Valid);
        Assert.False(failed.Passed);
        Assert.Equal("other processes used 1.02 cores (51% of the machine) during the window (at most 0.1 allowed)", failed.Detail);
        Assert.True(allowed.Valid);
        Assert.StartsWith("NOISY, allowed by --allow-noisy: other processes used 1.02 cores", allowed.Validity.Single(v => v.Name == QuietHostRule.Name).Detail, StringComparison.Ordinal);
        Assert.True(allowed.Telemetry!.Disturbance!.AllowedNoisy);
        Assert.True(quiet.Valid);
        Assert.StartsWith("quiet: other processes 1.02 cores, steal 0.1% (limits: other processes at most 1.5 cores", quiet.Validity.Single(v => v.Name == QuietHostRule.Name).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_telemetry_disturbance_is_not_measured_and_says_so()
    {
        ResultDocument doc = ResultBuilder.Build(Runs.Fake(), "minilm", "onnx:cpu", null);

        ValidityCondition c = doc.Validity.Single(v => v.Name == QuietHostRule.Name);
        Assert.True(c.Passed);
        Assert.Equal("disturbance not measured (telemetry was not recorded)", c.Detail);
    }

    [Theory]
    [InlineData("cpu=0.5,steal=5%", 0.5, 0.05, 0, 0.1)]
    [InlineData("cpu=25%", 0.25, 0.02, 0, 0.1)]
    [InlineData("gpu=1,throttle=20", 0.1, 0.02, 1, 0.2)]
    public void Limits_parse_over_the_defaults(string text, double cores, double steal, int gpu, double throttle)
    {
        DisturbanceLimits l = DisturbanceLimits.Parse([text]);

        Assert.Equal((cores, steal, gpu, throttle), (l.MaxOtherCores, l.MaxStealShare, l.MaxGpuNeighbours, l.MaxHardwareThrottleShare));
    }

    [Theory]
    [InlineData("cpu", "is not KEY=NUMBER")]
    [InlineData("cpu=-1", "is not KEY=NUMBER")]
    [InlineData("disk=5", "names an unknown limit 'disk'")]
    [InlineData("gpu=1.5", "is out of range")]
    [InlineData("steal=150%", "is out of range")]
    public void Bad_limits_are_one_sentence_of_bad_input(string text, string mentions)
    {
        var e = Assert.Throws<HarnessException>(() => DisturbanceLimits.Parse([text]));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(mentions, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_written_before_the_rule_is_judged_from_its_cpu_telemetry()
    {
        // The scenario: the machine 100% busy on 2 cores while the harness used 0.98 of them.
        ResultDocument doc = Minilm(20.2, busy: 1.0, own: 0.98);

        RunDisturbance d = RunDisturbance.Of(doc, DisturbanceLimits.Default);

        Assert.True(d.Blocks);
        Assert.Equal("other processes used 1.02 cores (51% of the machine) during the window (at most 0.1 allowed)", Assert.Single(d.Causes));
        Assert.StartsWith("estimated from telemetry.cpu", d.How, StringComparison.Ordinal);
        Assert.False(RunDisturbance.Of(Minilm(7.3, busy: 1.0, own: 1.98), DisturbanceLimits.Default).Disturbed);
    }

    [Fact]
    public void The_gate_answers_inconclusive_naming_the_disturbed_run_and_its_cause()
    {
        // Five runs a side, 12.9% slower: a regression on a quiet machine; here every current run shared the machine.
        var rng = new Random(7);
        List<ResultDocument> b = SyntheticResults.Runs(rng, 5, 20.2, runCv: 0.01), c = SyntheticResults.Runs(rng, 5, 22.8, runCv: 0.01);
        foreach (ResultDocument d in c)
        {
            d.Telemetry = Minilm(22.8, busy: 1.0, own: 0.98).Telemetry;
        }

        GateReport disturbed = RegressionGate.Compare(b, c, new GateOptions { Thresholds = new Dictionary<string, double> { ["latency_p50"] = 5 } });
        GateReport allowed = RegressionGate.Compare(b, c, new GateOptions { AllowNoisy = true, Thresholds = new Dictionary<string, double> { ["latency_p50"] = 5 } });

        Assert.Equal(ExitCodes.Inconclusive, disturbed.ExitCode);
        Assert.Equal(GateVerdict.Regression, disturbed.Metrics.Single(m => m.Metric == "latency_p50").Verdict);
        Assert.StartsWith("current run current #1 was DISTURBED, so the comparison is inconclusive: other processes used 1.02 cores (51% of the machine)", disturbed.Warnings[0], StringComparison.Ordinal);
        Assert.Contains("! current run current #1 was DISTURBED", GateTextReport.Render(disturbed), StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Regression, allowed.ExitCode);
        Assert.StartsWith("current run current #1 was NOISY (allowed)", allowed.Warnings[0], StringComparison.Ordinal);
    }

    internal static ResultDocument Minilm(double p50, double busy, double own)
    {
        ResultDocument doc = SyntheticResults.Make(SyntheticResults.LogNormal(new Random(1), 500, p50, 0.1), workload: "minilm");
        doc.Telemetry = new TelemetryReport { Enabled = true, Cpu = new CpuTelemetry { LogicalCores = 2, UtilizationAvg = busy, ProcessCpuCores = own } };
        return doc;
    }
}
