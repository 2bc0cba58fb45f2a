using Harness.Telemetry;

namespace Harness.Trust.Disturbance;

/// <summary>
/// The host half of the disturbance section (issue 18): from what the CPU counters moved over the
/// window (<see cref="DisturbanceReport.Host"/>, read by the CPU source), the CPU time of every other
/// process (the machine's user + nice + system minus this process, the children it reaped and the
/// server under test), interrupt and steal time, the CPU clock and /proc/pressure, each as a share of
/// the machine or of the window; and a note for each figure that could not be read.
/// </summary>
public static class HostDisturbance
{
    /// <summary>A reading whose mean clock moved more than this from the previous one counts as a change.</summary>
    public const double FrequencyChangeThreshold = 0.05;

    /// <summary>Fills the host figures of <paramref name="d"/> from its counters, then drops them; nothing when there are none.</summary>
    public static void Analyze(DisturbanceReport? d)
    {
        if (d?.Host is not { } c)
        {
            return;
        }

        d.Host = null;
        int cores = c.LogicalCores;
        double hz = c.ClockTicksPerSecond;
        if (c.TotalTicks is { } total && total > 0 && c.UserSystemTicks is { } us && c.OwnWithChildrenS is { } ownS && cores > 0)
        {
            // Shares of the machine's ticks, so the window's length and USER_HZ cancel out. The server
            // under test is part of the measurement, not a neighbour (issue 24).
            double? server = c.ServerCpuS;
            double otherShare = Math.Max(0, (us - (ownS + (server ?? 0)) * hz) / total);
            d.ServerProcessCores = server is { } sv ? Math.Round(sv * hz / total * cores, 4) : null;
            d.OtherProcessesShare = Math.Round(otherShare, 4);
            d.OtherProcessesCores = Math.Round(otherShare * cores, 4);
            d.OtherProcessesCpuS = Math.Round(otherShare * cores * c.WindowSeconds, 3);
            d.OwnProcessCores = Math.Round(ownS * hz / total * cores, 4);
            d.InterruptCores = c.InterruptTicks is { } irq ? Math.Round(irq / total * cores, 4) : null;
            d.StealShare = c.StealTicks is { } steal ? Math.Round(steal / total, 4) : null;
            d.StealCores = d.StealShare is { } ss ? Math.Round(ss * cores, 4) : null;
        }
        else
        {
            d.Notes.Add("other processes and steal: /proc/stat or /proc/self/stat readings do not bracket the window");
        }

        IReadOnlyList<double> frequencies = c.FrequenciesMhz;
        if (frequencies.Count > 0)
        {
            d.CpuFrequencyAvgMhz = Math.Round(frequencies.Average(), 1);
            d.CpuFrequencyMinMhz = frequencies.Min();
            d.CpuFrequencyMaxMhz = frequencies.Max();
            d.CpuFrequencyChanges = frequencies.Zip(frequencies.Skip(1))
                .Count(p => Math.Abs(p.Second - p.First) > FrequencyChangeThreshold * p.First);
        }
        else
        {
            d.Notes.Add("CPU clock: neither /sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq "
                + "nor \"cpu MHz\" in /proc/cpuinfo is readable");
        }

        double windowUs = c.WindowSeconds * 1e6;
        double? Pressure(double? stallUs) => windowUs > 0 && stallUs is { } s ? Math.Round(Math.Clamp(s / windowUs, 0, 1), 4) : null;
        d.PressureCpuSome = Pressure(c.PressureCpuSomeUs);
        d.PressureMemorySome = Pressure(c.PressureMemorySomeUs);
        d.PressureMemoryFull = Pressure(c.PressureMemoryFullUs);
        d.PressureIoSome = Pressure(c.PressureIoSomeUs);
        if (d.PressureCpuSome is null)
        {
            d.Notes.Add("pressure: /proc/pressure is not readable (a kernel without PSI, or psi=0)");
        }
    }
}
