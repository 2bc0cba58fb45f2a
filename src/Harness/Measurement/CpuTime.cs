using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Harness.Measurement;

/// <summary>
/// CPU time of the calling thread and of the whole process (with its finished child processes, so
/// that subprocess tools count). Linux reads the kernel's counters; elsewhere the thread clock is
/// unavailable (<see cref="ThreadSupported"/> is false) and the process total leaves children out.
/// </summary>
public static partial class CpuTime
{
    private const int ClockThreadCpuTimeId = 3;

    private static readonly bool Linux = OperatingSystem.IsLinux();

    private static readonly long ClockTicksPerSecond = Linux ? Math.Max(1, SysConf(2 /* _SC_CLK_TCK */)) : 100;

    /// <summary>True where <see cref="CurrentThread"/> reads a real per-thread CPU clock.</summary>
    public static bool ThreadSupported { get; } = Linux && ProbeThreadClock();

    /// <summary>CPU time of the calling thread so far; zero where unsupported.</summary>
    public static TimeSpan CurrentThread()
    {
        if (!ThreadSupported || ClockGetTime(ClockThreadCpuTimeId, out Timespec t) != 0)
        {
            return TimeSpan.Zero;
        }

        return TimeSpan.FromTicks((t.Seconds * TimeSpan.TicksPerSecond) + (t.Nanoseconds / 100));
    }

    /// <summary>User plus system CPU time of this process and of the children it has waited for.</summary>
    public static TimeSpan ProcessWithChildren()
    {
        if (ReadStat(11, 14) is { } t)
        {
            return t;
        }

        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>User plus system CPU time of the finished child processes this process waited for (subprocess tools).</summary>
    public static TimeSpan Children() => ReadStat(13, 14) ?? TimeSpan.Zero;

    private static TimeSpan? ReadStat(int first, int last)
    {
        if (!Linux)
        {
            return null;
        }

        try
        {
            // /proc/self/stat: fields 14-17 are utime, stime, cutime, cstime in clock ticks; the
            // command name (field 2) may hold spaces, so count from the last ')'.
            string stat = File.ReadAllText("/proc/self/stat");
            string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = 0;
            for (int i = first; i <= last; i++)
            {
                ticks += long.Parse(f[i], CultureInfo.InvariantCulture);
            }

            return TimeSpan.FromSeconds((double)ticks / ClockTicksPerSecond);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The 1-minute load average (runnable threads, all processes), for judging a measurement on a shared machine; null where unknown.</summary>
    public static double? LoadAverage()
    {
        try
        {
            return Linux && double.TryParse(File.ReadAllText("/proc/loadavg").Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static bool ProbeThreadClock()
    {
        try
        {
            return ClockGetTime(ClockThreadCpuTimeId, out _) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    private static long SysConf(int name)
    {
        try
        {
            return NativeSysConf(name);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 100;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, out Timespec time);

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long NativeSysConf(int name);
}
