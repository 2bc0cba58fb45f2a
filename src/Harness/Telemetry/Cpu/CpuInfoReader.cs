using System.Globalization;
using System.Text;

namespace Harness.Telemetry.Cpu;

/// <summary>
/// The cores' clock from the "cpu MHz" lines of /proc/cpuinfo. Reading it makes the kernel ask every
/// core for its clock, so the CPU source reads it at most once a second, and only without cpufreq.
/// </summary>
public sealed class CpuInfoReader(ISystemFiles files)
{
    public const string Path = "/proc/cpuinfo";

    private byte[] _buffer = new byte[64 * 1024];

    /// <summary>Mean of every "cpu MHz" line; NaN when the file is unreadable or has none (many VMs).</summary>
    public double MeanMhz()
    {
        int read;
        while ((read = files.Read(Path, _buffer)) == _buffer.Length && _buffer.Length < 16 * 1024 * 1024)
        {
            _buffer = new byte[_buffer.Length * 2];
        }

        double total = 0;
        int cores = 0;
        ReadOnlySpan<byte> text = read > 0 ? _buffer.AsSpan(0, read) : default;
        while (!text.IsEmpty)
        {
            int eol = text.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = eol < 0 ? text : text[..eol];
            text = eol < 0 ? default : text[(eol + 1)..];
            if (line.StartsWith("cpu MHz"u8) && line.IndexOf((byte)':') is var colon and > 0
                && double.TryParse(
                    Encoding.ASCII.GetString(line[(colon + 1)..]).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double mhz))
            {
                total += mhz;
                cores++;
            }
        }

        return cores > 0 ? total / cores : double.NaN;
    }
}
