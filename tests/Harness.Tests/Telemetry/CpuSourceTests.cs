using Harness.Telemetry;
using Harness.Tests.Fakes;

namespace Harness.Tests.Telemetry;

public class CpuSourceTests
{
    private readonly FakeSystemFiles _files = new();
    private readonly FakeClock _clock = FakeClock.Milliseconds();

    private CpuSource NewSource() => new(_clock.Frequency, _files, clockTicksPerSecond: 100, pageSize: 4096);

    private TelemetryReport Report(CpuSource source, long start, long end)
    {
        var report = new TelemetryReport { Enabled = true };
        source.Contribute(new TelemetryWindow(start, end, _clock.Frequency), report);
        return report;
    }

    [Fact]
    public void Utilization_per_core_and_overall_comes_from_proc_stat_deltas()
    {
        _files.SetProcStat((1000, 1000), (1000, 1000));
        _files.SetProcessStat(utime: 100, stime: 50, rssPages: 1000);
        CpuSource source = NewSource();
        long t0 = _clock.Timestamp;
        source.Sample(t0);

        // One second later: core 0 fully busy (100 jiffies), core 1 a quarter busy.
        _clock.AdvanceMs(1000);
        _files.SetProcStat((1100, 1000), (1025, 1075));
        _files.SetProcessStat(utime: 180, stime: 70, rssPages: 3000);
        source.Sample(_clock.Timestamp);

        CpuTelemetry cpu = Report(source, t0, _clock.Timestamp).Cpu!;

        Assert.Equal(2, cpu.LogicalCores);
        Assert.Equal(0.625, cpu.UtilizationAvg!.Value, 9);
        Assert.Equal([1.0, 0.25], cpu.PerCoreUtilization!.Select(x => x!.Value));
        Assert.Equal(1.0, cpu.ProcessCpuS!.Value, 9); // (180 + 70 - 150) ticks at 100 Hz
        Assert.Equal(1.0, cpu.ProcessCpuCores!.Value, 9);
        Assert.Equal(3000L * 4096, cpu.ProcessRssPeakBytes);
    }

    [Fact]
    public void Without_powercap_package_energy_is_null_and_the_note_says_why()
    {
        _files.SetProcStat((1, 1));
        CpuSource source = NewSource();
        source.Sample(_clock.Timestamp);
        _clock.AdvanceMs(100);
        source.Sample(_clock.Timestamp);

        CpuTelemetry cpu = Report(source, _clock.Timestamp - 100, _clock.Timestamp).Cpu!;

        Assert.False(source.HasPackageEnergy);
        Assert.Null(cpu.PackageEnergyJ);
        Assert.Contains("no RAPL package zone", cpu.PackageEnergyNote);
    }

    [Fact]
    public void Root_only_RAPL_counters_are_reported_as_unreadable()
    {
        _files.SetProcStat((1, 1));
        _files.Files["/sys/class/powercap/intel-rapl:0/energy_uj"] = null;

        CpuSource source = NewSource();

        Assert.Contains("readable by root only", source.PackageEnergyNote);
    }

    [Fact]
    public void Package_energy_sums_the_packages_skips_subzones_and_survives_a_counter_wrap()
    {
        _files.SetProcStat((1, 1));
        _files.Files["/sys/class/powercap/intel-rapl:0/energy_uj"] = "999000000\n";
        _files.Files["/sys/class/powercap/intel-rapl:0/max_energy_range_uj"] = "1000000000\n";
        _files.Files["/sys/class/powercap/intel-rapl:0:0/energy_uj"] = "5\n"; // core sub-zone: inside package 0
        _files.Files["/sys/class/powercap/intel-rapl:1/energy_uj"] = "0\n";
        _files.Files["/sys/class/powercap/intel-rapl:1/max_energy_range_uj"] = "1000000000\n";
        CpuSource source = NewSource();
        long t0 = _clock.Timestamp;
        source.Sample(t0);

        // Two seconds later: package 0 wrapped after +3 J (999 J -> 2 J), package 1 used 5 J.
        _clock.AdvanceMs(2000);
        _files.Files["/sys/class/powercap/intel-rapl:0/energy_uj"] = "2000000\n";
        _files.Files["/sys/class/powercap/intel-rapl:1/energy_uj"] = "5000000\n";
        source.Sample(_clock.Timestamp);

        CpuTelemetry cpu = Report(source, t0, _clock.Timestamp).Cpu!;

        Assert.True(source.HasPackageEnergy);
        Assert.Null(cpu.PackageEnergyNote);
        Assert.Equal(8, cpu.PackageEnergyJ!.Value, 9);
        Assert.Equal(4, cpu.PackagePowerAvgW!.Value, 9);
        Assert.Equal(8, source.Live().PackageEnergySinceStartJ!.Value, 9);
    }

    [Fact]
    public void Without_proc_stat_the_source_is_unavailable()
    {
        CpuSource source = NewSource();

        Assert.NotNull(source.UnavailableReason);
    }

    [Fact]
    public void Reads_the_real_proc_files_of_this_machine()
    {
        var source = new CpuSource(1000);
        source.Sample(0);
        source.Sample(100);

        CpuLive live = source.Live();

        Assert.Null(source.UnavailableReason);
        Assert.True(live.RssBytes > 0);
        Assert.True(live.ProcessCpuSeconds > 0);
        Assert.InRange(live.Utilization ?? 0.5, 0, 1);
    }
}
