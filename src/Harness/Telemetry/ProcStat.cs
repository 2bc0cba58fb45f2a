namespace Harness.Telemetry;

/// <summary>
/// The fields of a /proc/PID/stat line that telemetry reads: parent, CPU times and start time in
/// clock ticks (USER_HZ), resident set in pages. The command name, in parentheses, may itself hold
/// spaces and parentheses: fields are counted from its last ')'.
/// </summary>
public readonly record struct ProcStat(int Ppid, long UTime, long STime, long CUTime, long CSTime, long StartTime, long RssPages)
{
    /// <summary>utime + stime: the process's own CPU time, every thread of it, in clock ticks.</summary>
    public long OwnTicks => UTime + STime;

    public static bool TryParse(ReadOnlySpan<byte> text, out ProcStat stat)
    {
        stat = default;
        int open = text.IndexOf((byte)'(');
        int paren = text.LastIndexOf((byte)')');
        if (open < 0 || paren < open)
        {
            return false;
        }

        text = text[(paren + 1)..];
        long ppid = -1, utime = 0, stime = 0, cutime = 0, cstime = 0, start = 0, rss = -1;
        for (int field = 3; field <= 24 && !text.IsEmpty; field++)
        {
            text = text.TrimStart((byte)' ');
            int end = text.IndexOf((byte)' ');
            ReadOnlySpan<byte> token = end < 0 ? text : text[..end];
            text = end < 0 ? default : text[end..];
            switch (field)
            {
                case 4: ppid = ParseLong(token); break;
                case 14: utime = ParseLong(token); break;
                case 15: stime = ParseLong(token); break;
                case 16: cutime = ParseLong(token); break;
                case 17: cstime = ParseLong(token); break;
                case 22: start = ParseLong(token); break;
                case 24: rss = ParseLong(token); break;
            }
        }

        if (rss < 0)
        {
            return false;
        }

        stat = new ProcStat((int)ppid, utime, stime, cutime, cstime, start, rss);
        return true;
    }

    /// <summary>The command name between the parentheses (allocates: for reports, not for every reading).</summary>
    public static string? Command(ReadOnlySpan<byte> text)
    {
        int open = text.IndexOf((byte)'(');
        int paren = text.LastIndexOf((byte)')');
        return open < 0 || paren < open ? null : System.Text.Encoding.UTF8.GetString(text[(open + 1)..paren]);
    }

    /// <summary>Leading decimal digits; stops at the first other byte.</summary>
    public static long ParseLong(ReadOnlySpan<byte> digits)
    {
        long value = 0;
        foreach (byte b in digits)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                break;
            }

            value = value * 10 + (b - '0');
        }

        return value;
    }
}
