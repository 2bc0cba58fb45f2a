using Harness.Results;
using Harness.Telemetry;
using Harness.Trust.Disturbance;

namespace Harness.Tests.Trust;

/// <summary>The host half of the disturbance analysis, from counter deltas alone (no CPU source).</summary>
public class HostDisturbanceTests
{
    [Fact]
    public void Counter_deltas_become_shares_of_the_machine_and_of_the_window()
    {
        // 4 cores at 100 ticks/s over 2 s: 800 ticks. Processes 300 ticks, of which this run 1 s and the server 0.5 s.
        var d = new DisturbanceReport
        {
            Host = new HostCounterDeltas
            {
                LogicalCores = 4,
                ClockTicksPerSecond = 100,
                WindowSeconds = 2,
                TotalTicks = 800,
                UserSystemTicks = 300,
                InterruptTicks = 8,
                StealTicks = 40,
                OwnWithChildrenS = 1,
                ServerCpuS = 0.5,
                PressureCpuSomeUs = 500_000,
                PressureMemorySomeUs = 0,
                PressureMemoryFullUs = 0,
                PressureIoSomeUs = 3_000_000,
                FrequenciesMhz = [3000, 3100, 2000],
            },
        };

        HostDisturbance.Analyze(d);

        Assert.Null(d.Host);
        Assert.Equal(0.75, d.OtherProcessesCores); // (300 - 150) / 800 x 4
        Assert.Equal(0.1875, d.OtherProcessesShare);
        Assert.Equal(1.5, d.OtherProcessesCpuS);
        Assert.Equal(0.5, d.OwnProcessCores);
        Assert.Equal(0.25, d.ServerProcessCores);
        Assert.Equal(0.04, d.InterruptCores);
        Assert.Equal<(double?, double?)>((0.05, 0.2), (d.StealShare, d.StealCores));
        Assert.Equal<(double?, double?, double?)>(
            (2700.0, 2000.0, 3100.0), (d.CpuFrequencyAvgMhz, d.CpuFrequencyMinMhz, d.CpuFrequencyMaxMhz));
        Assert.Equal(1, d.CpuFrequencyChanges);
        Assert.Equal<(double?, double?)>((0.25, 1.0), (d.PressureCpuSome, d.PressureIoSome)); // io clamped to the window
        Assert.Empty(d.Notes);
    }

    [Fact]
    public void Counters_that_do_not_bracket_the_window_leave_notes_not_zeros()
    {
        var d = new DisturbanceReport { Host = new HostCounterDeltas { LogicalCores = 2, ClockTicksPerSecond = 100, WindowSeconds = 1 } };

        HostDisturbance.Analyze(d);
        HostDisturbance.Analyze(d); // once only: the counters are gone

        Assert.Null(d.OtherProcessesCores);
        Assert.Null(d.PressureCpuSome);
        Assert.Equal(3, d.Notes.Count);
        Assert.Contains(d.Notes, n => n.StartsWith("other processes and steal", StringComparison.Ordinal));
    }

    [Fact]
    public void The_judge_analyses_the_counters_first_and_the_file_never_holds_them()
    {
        var telemetry = new TelemetryReport
        {
            Enabled = true,
            Disturbance = new DisturbanceReport
            {
                Host = new HostCounterDeltas
                {
                    LogicalCores = 2,
                    ClockTicksPerSecond = 100,
                    WindowSeconds = 1,
                    TotalTicks = 200,
                    UserSystemTicks = 100,
                    OwnWithChildrenS = 0,
                },
            },
        };

        DisturbanceJudge.Apply(telemetry.Disturbance, DisturbanceLimits.Default, 1);

        Assert.Equal(1, telemetry.Disturbance.OtherProcessesCores);
        Assert.True(telemetry.Disturbance.Disturbed);
        string json = ResultJson.Serialize(new ResultDocument { Telemetry = telemetry });
        Assert.DoesNotContain("\"host\"", json, StringComparison.Ordinal);
        Assert.Contains("\"max_other_cores\": 0.1", json, StringComparison.Ordinal);
    }
}
