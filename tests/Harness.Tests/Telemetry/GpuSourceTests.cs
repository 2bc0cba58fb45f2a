using Harness.Hardware;
using Harness.Telemetry;
using Harness.Tests.Fakes;

namespace Harness.Tests.Telemetry;

public class GpuSourceTests
{
    private readonly FakeNvml _nvml = new();
    private readonly FakeClock _clock = FakeClock.Milliseconds();

    /// <summary>Eleven readings 100 ms apart (one second), each adding <paramref name="energyStepMj"/> to the counter.</summary>
    private GpuSource SampleSteadyLoad(ulong? energyStepMj, double? power = 300, ulong? reasons = null, int ticks = 11)
    {
        var source = new GpuSource(_nvml, _clock.Frequency, energyInterval: TimeSpan.Zero);
        ulong energy = 5_000_000;
        for (int i = 0; i < ticks; i++)
        {
            _nvml.Set(0, new GpuReading(power, energyStepMj is null ? null : energy, 0.75, 0.5, 40L << 30, 1980, 3201, 60 + i, reasons));
            source.Sample(_clock.Timestamp);
            _clock.AdvanceMs(100);
            energy += energyStepMj ?? 0;
        }

        return source;
    }

    private TelemetryReport Report(GpuSource source, long startOffsetMs, long endOffsetMs)
    {
        long t0 = _clock.Timestamp - 1100; // the first reading
        var report = new TelemetryReport { Enabled = true };
        source.Contribute(new TelemetryWindow(t0 + startOffsetMs, t0 + endOffsetMs, _clock.Frequency), report);
        return report;
    }

    [Fact]
    public void Energy_is_the_counter_delta_over_the_window()
    {
        GpuSource source = SampleSteadyLoad(energyStepMj: 30_000); // 30 J per 100 ms = 300 W

        GpuTelemetry gpu = Report(source, 50, 950).Gpus.Single();

        Assert.Equal("counter", gpu.EnergyMethod);
        Assert.Equal(270, gpu.EnergyJ!.Value, 6); // 0.9 s at 300 W
        Assert.Equal(300, gpu.PowerAvgW!.Value, 6);
        Assert.Equal(300, gpu.PowerPeakW);
    }

    [Fact]
    public void Without_an_energy_counter_power_is_integrated_and_the_method_says_so()
    {
        GpuSource source = SampleSteadyLoad(energyStepMj: null, power: 250);

        GpuTelemetry gpu = Report(source, 0, 1000).Gpus.Single();

        Assert.Equal("power_integration", gpu.EnergyMethod);
        Assert.Equal(250, gpu.EnergyJ!.Value, 6);
    }

    [Fact]
    public void Without_counter_or_power_there_is_no_energy()
    {
        GpuSource source = SampleSteadyLoad(energyStepMj: null, power: null);

        GpuTelemetry gpu = Report(source, 0, 1000).Gpus.Single();

        Assert.Null(gpu.EnergyJ);
        Assert.Null(gpu.EnergyMethod);
        Assert.Null(gpu.PowerAvgW);
    }

    [Fact]
    public void Utilization_clocks_memory_and_temperature_are_summarized()
    {
        GpuSource source = SampleSteadyLoad(energyStepMj: 30_000);

        GpuTelemetry gpu = Report(source, 0, 1000).Gpus.Single();

        Assert.Equal(0.75, gpu.BusyFraction!.Value, 9);
        Assert.Equal(0.5, gpu.MemoryUtilizationAvg!.Value, 9);
        Assert.Equal(40L << 30, gpu.MemoryUsedPeakBytes);
        Assert.Equal(1980, gpu.SmClockAvgMhz!.Value, 9);
        Assert.Equal(70, gpu.TemperaturePeakC);
        Assert.Equal("Fake GPU 0", gpu.Name);
        Assert.Equal(11, gpu.Samples);
        Assert.NotNull(gpu.Series);
        Assert.Equal(10, gpu.Series!.TS.Length);
        Assert.Equal(10, ((double?[])gpu.Series.Columns["power_w"]!).Length);
    }

    [Fact]
    public void Throttle_time_counts_throttling_reasons_but_not_idle()
    {
        GpuSource throttled = SampleSteadyLoad(energyStepMj: 30_000, reasons: 0x4 | 0x20); // sw power cap + sw thermal
        GpuTelemetry gpu = Report(throttled, 0, 500).Gpus.Single();
        Assert.Equal(0.5, gpu.ThrottleS);
        Assert.Equal(0.5, gpu.ThrottleReasonsS!["sw_power_cap"]);
        Assert.Equal(0.5, gpu.ThrottleReasonsS["sw_thermal"]);

        GpuSource idle = SampleSteadyLoad(energyStepMj: 30_000, reasons: ClockEventReasons.GpuIdle);
        Assert.Equal(0, Report(idle, 0, 500).Gpus.Single().ThrottleS);
    }

    [Fact]
    public void Throttle_time_is_null_where_reasons_are_not_reported()
    {
        GpuSource source = SampleSteadyLoad(energyStepMj: 30_000, reasons: null);

        Assert.Null(Report(source, 0, 500).Gpus.Single().ThrottleS);
    }

    [Fact]
    public void Live_reports_the_latest_reading_and_totals_since_the_first()
    {
        GpuSource source = SampleSteadyLoad(energyStepMj: 30_000, reasons: 0x4);

        GpuLive live = source.Live(0);

        Assert.Equal(11, live.Samples);
        Assert.Equal(300, live.EnergySinceStartJ!.Value, 6); // 10 steps of 30 J
        Assert.Equal(1.0, live.ThrottleSeconds[0], 6);
        Assert.Equal(70, live.Latest.TemperatureC);
    }

    [Fact]
    public void The_costly_energy_counter_is_read_at_the_window_edges_and_once_a_second_and_still_gives_the_delta()
    {
        var source = new GpuSource(_nvml, _clock.Frequency, energyInterval: TimeSpan.FromSeconds(1));
        long t0 = _clock.Timestamp;
        for (int i = 0; i <= 25; i++)
        {
            // 300 W: the counter rises 30 J per 100 ms whether or not it is read.
            _nvml.Set(0, new GpuReading(300, 1_000_000 + (ulong)i * 30_000, 0.5, 0.5, 1, 1, 1, 1, 0));
            source.Sample(_clock.Timestamp, windowEdge: i == 25);
            _clock.AdvanceMs(100);
        }

        var report = new TelemetryReport();
        source.Contribute(new TelemetryWindow(t0, t0 + 2500, _clock.Frequency), report);

        Assert.Equal(26, _nvml.Reads);
        Assert.Equal(4, _nvml.EnergyReads); // at 0 s, 1 s, 2 s and the closing edge at 2.5 s
        Assert.Equal(750, report.Gpus.Single().EnergyJ!.Value, 6);
        Assert.Equal("counter", report.Gpus.Single().EnergyMethod);
        Assert.Equal(750, source.Live(0).EnergySinceStartJ!.Value, 6);
    }

    [Fact]
    public void Without_NVML_the_source_reads_nothing_and_says_why()
    {
        var source = new GpuSource(FakeNvml.Missing, 1000);
        var report = new TelemetryReport();

        source.Sample(0);
        source.Contribute(new TelemetryWindow(0, 1000, 1000), report);

        Assert.Contains("libnvidia-ml.so.1", source.UnavailableReason);
        Assert.Equal(source.UnavailableReason, report.GpuNote);
        Assert.Empty(report.Gpus);
    }
}
