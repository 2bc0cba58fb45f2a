namespace Harness.Telemetry.Cpu;

/// <summary>/proc/pressure (PSI): the cumulative stall time of the "some" and "full" lines, in microseconds.</summary>
public sealed class PressureReader(ISystemFiles files)
{
    public const string Cpu = "/proc/pressure/cpu";
    public const string Memory = "/proc/pressure/memory";
    public const string Io = "/proc/pressure/io";

    private readonly byte[] _buffer = new byte[4096];

    /// <summary>The "total=" microseconds of the "some" or "full" line of <paramref name="path"/>; NaN when not readable.</summary>
    public double TotalUs(string path, bool full)
    {
        int n = files.Read(path, _buffer);
        if (n <= 0)
        {
            return double.NaN;
        }

        ReadOnlySpan<byte> text = _buffer.AsSpan(0, n);
        ReadOnlySpan<byte> prefix = full ? "full "u8 : "some "u8;
        while (!text.IsEmpty)
        {
            int eol = text.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = eol < 0 ? text : text[..eol];
            text = eol < 0 ? default : text[(eol + 1)..];
            int at = line.IndexOf("total="u8);
            if (line.StartsWith(prefix) && at >= 0)
            {
                return ProcStat.ParseLong(line[(at + 6)..]);
            }
        }

        return double.NaN;
    }
}
