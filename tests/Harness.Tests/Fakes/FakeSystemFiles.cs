using System.Text;
using Harness.Telemetry;

namespace Harness.Tests.Fakes;

/// <summary>/proc and /sys as a dictionary of path to text; a null text means present but unreadable.</summary>
public sealed class FakeSystemFiles : ISystemFiles
{
    public Dictionary<string, string?> Files { get; } = new(StringComparer.Ordinal);

    /// <summary>Symbolic links, path to target (/proc/PID/fd/N to "socket:[inode]").</summary>
    public Dictionary<string, string> Links { get; } = new(StringComparer.Ordinal);

    public int Read(string path, Span<byte> buffer)
    {
        if (!Files.TryGetValue(path, out string? text) || text is null)
        {
            return -1;
        }

        byte[] bytes = Encoding.ASCII.GetBytes(text);
        int n = Math.Min(bytes.Length, buffer.Length);
        bytes.AsSpan(0, n).CopyTo(buffer);
        return n;
    }

    public int ReadOnce(string path, Span<byte> buffer) => Read(path, buffer);

    public bool Exists(string path) => Files.ContainsKey(path);

    public IReadOnlyList<string> ListEntries(string path)
    {
        string prefix = path.TrimEnd('/') + "/";
        return Files.Keys.Concat(Links.Keys).Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .Select(k => k[prefix.Length..].Split('/')[0]).Distinct().Order(StringComparer.Ordinal).ToList();
    }

    public string? ReadLink(string path) => Links.GetValueOrDefault(path);

    /// <summary>/proc/PID/stat of a process: parent, utime and stime and start time in clock ticks, RSS in pages.</summary>
    public void SetPidStat(
        int pid, int ppid, long utime, long stime = 0, long rssPages = 100, long startTime = 1000, string command = "server") =>
        Files[$"/proc/{pid}/stat"] = $"{pid} ({command}) S {ppid} {pid} {pid} 0 -1 4194304 100 0 0 0 {utime} {stime} 0 0 20 0 4 0 "
            + $"{startTime} "
            + $"300000000 {rssPages} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

    /// <summary>A socket listening on <paramref name="port"/> (0.0.0.0, or :: for IPv6), held by fd 7 of <paramref name="pid"/>.</summary>
    public void SetListener(int port, long inode, int pid, bool ipv6 = false)
    {
        string table = ipv6 ? "/proc/net/tcp6" : "/proc/net/tcp";
        string address = ipv6 ? "00000000000000000000000000000000" : "00000000";
        string header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
        string line = $"   0: {address}:{port:X4} {address}:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 {inode} "
            + "1 0000000000000000 100 0 0 10 0\n";
        Files[table] = (Files.GetValueOrDefault(table) ?? header) + line;
        Links[$"/proc/{pid}/fd/7"] = $"socket:[{inode}]";
    }

    public IReadOnlyList<string> ListDirectories(string path)
    {
        string prefix = path.TrimEnd('/') + "/";
        return Files.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .Select(k => k[prefix.Length..].Split('/')[0])
            .Where(d => Files.Keys.Any(k => k.StartsWith(prefix + d + "/", StringComparison.Ordinal)))
            .Distinct().Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>/proc/stat with the given per-core (busy, idle) jiffies.</summary>
    public void SetProcStat(params (long Busy, long Idle)[] cores)
    {
        var sb = new StringBuilder();
        sb.Append($"cpu  {cores.Sum(c => c.Busy)} 0 0 {cores.Sum(c => c.Idle)} 0 0 0 0 0 0\n");
        for (int i = 0; i < cores.Length; i++)
        {
            sb.Append($"cpu{i} {cores[i].Busy} 0 0 {cores[i].Idle} 0 0 0 0 0 0\n");
        }

        sb.Append("intr 12345 0 0\nctxt 999\n");
        Files["/proc/stat"] = sb.ToString();
    }

    /// <summary>/proc/self/stat with utime and stime (and the reaped children's) in clock ticks and RSS in pages; the name has a space and a parenthesis.</summary>
    public void SetProcessStat(long utime, long stime, long rssPages, long cutime = 0, long cstime = 0) =>
        Files["/proc/self/stat"] = $"4242 (dotnet (x) y) R 1 1 1 0 -1 4194304 100 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 12 0 5000 300000000 {rssPages} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

    /// <summary>/proc/stat whose "cpu" line holds the given totals (all cores) and <paramref name="cores"/> per-core lines sharing them evenly.</summary>
    public void SetProcStatFields(int cores, long user, long nice, long system, long idle, long iowait, long irq, long softirq, long steal)
    {
        long[] all = [user, nice, system, idle, iowait, irq, softirq, steal];
        var sb = new StringBuilder();
        sb.Append("cpu  ").Append(string.Join(' ', all)).Append(" 0 0\n");
        for (int i = 0; i < cores; i++)
        {
            sb.Append($"cpu{i} ").Append(string.Join(' ', all.Select(v => v / cores))).Append(" 0 0\n");
        }

        sb.Append("intr 12345 0 0\nctxt 999\n");
        Files["/proc/stat"] = sb.ToString();
    }

    /// <summary>A /proc/pressure file with the given "some" and "full" totals in microseconds.</summary>
    public void SetPressure(string resource, long someUs, long fullUs) =>
        Files[$"/proc/pressure/{resource}"] = $"some avg10=1.00 avg60=1.00 avg300=1.00 total={someUs}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total={fullUs}\n";
}
