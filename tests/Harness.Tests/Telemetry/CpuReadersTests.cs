using Harness.Telemetry.Cpu;
using Harness.Tests.Fakes;

namespace Harness.Tests.Telemetry;

/// <summary>Each /proc and /sys reader of the CPU source on its own, against fixed file text.</summary>
public class CpuReadersTests
{
    private readonly FakeSystemFiles _files = new();

    [Fact]
    public void Proc_stat_gives_the_machine_line_and_each_cores_busy_and_total_ticks()
    {
        _files.SetProcStatFields(2, user: 100, nice: 2, system: 8, idle: 60, iowait: 10, irq: 4, softirq: 6, steal: 10);
        var reader = new ProcStatReader(_files);

        reader.Read();

        Assert.True(reader.HasMachine);
        Assert.Equal(new CpuTicks(100, 2, 8, 60, 10, 4, 6, 10), reader.Machine);
        CpuTicks m = reader.Machine;
        Assert.Equal((110L, 10L, 200L, 130L), (m.UserSystem, m.Interrupt, m.Total, m.Busy));
        Assert.Equal(2, reader.Cores);
        Assert.Equal([65L, 65L], reader.CoreBusy.ToArray()); // each core: 50 1 4 30 5 2 3 5
        Assert.Equal([100L, 100L], reader.CoreTotal.ToArray());
    }

    [Fact]
    public void Proc_stat_that_cannot_be_read_throws_and_says_so()
    {
        var reader = new ProcStatReader(_files);

        Assert.False(reader.IsReadable());
        Assert.Contains("/proc/stat", Assert.Throws<IOException>(reader.Read).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Proc_stat_larger_than_the_first_buffer_is_read_whole()
    {
        // 2,000 cores: about 80 kB, more than the 64 kB the reader starts with.
        _files.SetProcStat(Enumerable.Range(0, 2000).Select(i => ((long)i, 10L)).ToArray());
        var reader = new ProcStatReader(_files);

        reader.Read();

        Assert.Equal(2000, reader.Cores);
        Assert.Equal(1999, reader.CoreBusy[1999]);
    }

    [Fact]
    public void Self_stat_gives_cpu_seconds_with_and_without_reaped_children_and_rss_bytes()
    {
        _files.SetProcessStat(utime: 150, stime: 50, rssPages: 1000, cutime: 30, cstime: 20);
        var reader = new SelfStatReader(_files, clockTicksPerSecond: 100, pageSize: 4096);

        Assert.Equal((2.0, 2.5, 1000.0 * 4096), reader.Read());
    }

    [Fact]
    public void Self_stat_that_cannot_be_read_is_nan()
    {
        (double cpu, double withChildren, double rss) = new SelfStatReader(_files, 100, 4096).Read();

        Assert.True(double.IsNaN(cpu) && double.IsNaN(withChildren) && double.IsNaN(rss));
    }

    [Fact]
    public void Pressure_gives_the_total_of_the_some_or_full_line()
    {
        _files.SetPressure("memory", someUs: 12_345, fullUs: 678);
        var reader = new PressureReader(_files);

        Assert.Equal(12_345, reader.TotalUs(PressureReader.Memory, full: false));
        Assert.Equal(678, reader.TotalUs(PressureReader.Memory, full: true));
        Assert.True(double.IsNaN(reader.TotalUs(PressureReader.Cpu, full: false)));
    }

    [Fact]
    public void Cpufreq_reads_at_most_16_cores_spread_over_the_machine_in_megahertz()
    {
        for (int i = 0; i < 64; i++)
        {
            _files.Files[$"/sys/devices/system/cpu/cpu{i}/cpufreq/scaling_cur_freq"] = "2500000\n";
        }

        _files.Files["/sys/devices/system/cpu/cpufreq/policy0/scaling_cur_freq"] = "5\n"; // not a core
        var reader = new CpuFreqReader(_files);

        Assert.True(reader.Present);
        Assert.Equal(16, reader.Paths.Count);
        Assert.All(reader.Paths, p => Assert.Matches(@"/cpu\d+/cpufreq/", p));
        Assert.Equal(2500, reader.MeanMhz());
        _files.Files[reader.Paths[0]] = "4000000\n";
        Assert.Equal((4000 + 15 * 2500) / 16.0, reader.MeanMhz());
        _files.Files[reader.Paths[0]] = null; // unreadable now: the mean of the others
        Assert.Equal(2500, reader.MeanMhz());
        Assert.False(new CpuFreqReader(new FakeSystemFiles()).Present);
    }

    [Fact]
    public void Cpuinfo_gives_the_mean_of_the_cpu_mhz_lines()
    {
        _files.Files["/proc/cpuinfo"] = "processor\t: 0\ncpu MHz\t\t: 2600.000\nmodel name\t: x\n\nprocessor\t: 1\ncpu MHz\t\t: 2400.500\n";

        Assert.Equal(2500.25, new CpuInfoReader(_files).MeanMhz(), 9);
        Assert.True(double.IsNaN(new CpuInfoReader(new FakeSystemFiles()).MeanMhz()));
    }

    [Fact]
    public void Rapl_sums_the_packages_skips_subzones_and_unwraps_a_counter()
    {
        _files.Files["/sys/class/powercap/intel-rapl:0/energy_uj"] = "999000000\n";
        _files.Files["/sys/class/powercap/intel-rapl:0/max_energy_range_uj"] = "1000000000\n";
        _files.Files["/sys/class/powercap/intel-rapl:0:0/energy_uj"] = "5\n";
        _files.Files["/sys/class/powercap/intel-rapl:1/energy_uj"] = "0\n";
        var reader = new RaplReader(_files);

        Assert.True(reader.HasZones);
        Assert.Null(reader.Note);
        Assert.Equal(0, reader.ReadUj());
        _files.Files["/sys/class/powercap/intel-rapl:0/energy_uj"] = "2000000\n"; // wrapped after +3 J
        _files.Files["/sys/class/powercap/intel-rapl:1/energy_uj"] = "5000000\n";
        Assert.Equal(8_000_000, reader.ReadUj());
    }

    [Fact]
    public void Rapl_without_zones_or_readable_only_by_root_says_why()
    {
        var none = new RaplReader(_files);
        Assert.False(none.HasZones);
        Assert.True(double.IsNaN(none.ReadUj()));
        Assert.Contains("no RAPL package zone", none.Note, StringComparison.Ordinal);

        _files.Files["/sys/class/powercap/intel-rapl:0/energy_uj"] = null;
        Assert.Contains("readable by root only", new RaplReader(_files).Note, StringComparison.Ordinal);
    }
}
