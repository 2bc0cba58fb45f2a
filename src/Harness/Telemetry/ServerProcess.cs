using System.Globalization;

namespace Harness.Telemetry;

/// <summary>
/// The server under test as found before the run (issue 24): its processes (the one that listens on
/// the URL's port, or the one <c>--server-pid</c> names), how they were found, or why its CPU is not
/// measured. Its children are found at each reading.
/// </summary>
public sealed record ServerLocation
{
    /// <summary>The server's URL as the run was given it; null with <c>--server-pid</c> alone.</summary>
    public string? Url { get; init; }

    /// <summary>The processes whose trees are the server: the socket's owners, or the PID given. Empty when not measured.</summary>
    public IReadOnlyList<int> Pids { get; init; } = [];

    /// <summary>How they were found: "listens on port 8000" or "--server-pid 1234".</summary>
    public string? How { get; init; }

    /// <summary>The command name of the first of <see cref="Pids"/> (/proc/PID/stat), e.g. "dotnet".</summary>
    public string? Command { get; init; }

    /// <summary>Why the server's CPU is not measured ("server CPU not measured: ..."); null when it is.</summary>
    public string? NotMeasured { get; init; }

    public bool Measured => NotMeasured is null && Pids.Count > 0;
}

/// <summary>
/// Finds the server under test on this machine from procfs: for a loopback URL, the port's listening
/// socket (/proc/net/tcp and tcp6, state LISTEN) gives its inode, and the process holding a
/// <c>socket:[inode]</c> descriptor (/proc/PID/fd) is the server; its children follow from the parent
/// PIDs of /proc/PID/stat. A remote URL is not this machine's to measure.
/// </summary>
public static class ServerProcessLocator
{
    public const string PidOption = "--server-pid";

    private const string NotMeasuredPrefix = "server CPU not measured: ";

    /// <summary>
    /// The server of <paramref name="url"/>, or the process <paramref name="pid"/> when given (which
    /// wins: a server behind a proxy or in a container); null when there is neither (an in-process backend).
    /// </summary>
    /// <param name="ownPid">This process: a server inside it is the harness's own CPU, not a second figure.</param>
    public static ServerLocation? Locate(string? url, int? pid, ISystemFiles? files = null, int? ownPid = null)
    {
        files ??= SystemFiles.Instance;
        int self = ownPid ?? Environment.ProcessId;
        if (pid is { } given)
        {
            return StatText(files, given) is { } stat
                ? new ServerLocation { Url = url, Pids = [given], How = $"{PidOption} {given}", Command = ProcStat.Command(stat) }
                : NotMeasured(url, $"{PidOption} {given} names no process this user can read");
        }

        if (url is null)
        {
            return null;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri))
        {
            return NotMeasured(url, $"'{url}' is not a URL");
        }

        if (!uri.IsLoopback)
        {
            return NotMeasured(url, $"{uri.Host} is not this machine (a server here behind another address: give {PidOption})");
        }

        IReadOnlySet<long> inodes = ListeningInodes(files, uri.Port);
        if (inodes.Count == 0)
        {
            return NotMeasured(url, $"no socket listens on port {uri.Port} here (/proc/net/tcp, tcp6)");
        }

        List<int> owners = SocketOwners(files, inodes).ToList();
        if (owners.Remove(self) && owners.Count == 0)
        {
            return NotMeasured(url, $"port {uri.Port} is served by this process itself, so its CPU is the harness's own (telemetry.cpu)");
        }

        if (owners.Count == 0)
        {
            return NotMeasured(url, $"port {uri.Port} listens, but no process this user can read holds the socket"
                + $" (another user's, or a container's: give {PidOption})");
        }

        // Forked workers share the listening socket: keep the ones whose parent is not an owner too.
        var owning = owners.ToHashSet();
        var roots = owners.Where(p => StatOf(files, p) is not { } s || !owning.Contains(s.Ppid)).Order().ToList();
        return new ServerLocation
        {
            Url = url,
            Pids = roots,
            How = string.Create(CultureInfo.InvariantCulture, $"listens on port {uri.Port}"),
            Command = StatText(files, roots[0]) is { } text ? ProcStat.Command(text) : null,
        };
    }

    private static ServerLocation NotMeasured(string? url, string why) => new() { Url = url, NotMeasured = NotMeasuredPrefix + why };

    /// <summary>Inodes of the sockets in state LISTEN on <paramref name="port"/>, IPv4 and IPv6, any address.</summary>
    public static IReadOnlySet<long> ListeningInodes(ISystemFiles files, int port)
    {
        var inodes = new HashSet<long>();
        foreach (string table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            string text = ReadAll(files, table);
            foreach (string line in text.Split('\n').Skip(1))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 10 || f[3] != "0A")
                {
                    continue; // 0A: TCP_LISTEN
                }

                int colon = f[1].LastIndexOf(':');
                var invariant = CultureInfo.InvariantCulture;
                if (colon > 0 && int.TryParse(f[1].AsSpan(colon + 1), NumberStyles.HexNumber, invariant, out int p) && p == port
                    && long.TryParse(f[9], NumberStyles.None, CultureInfo.InvariantCulture, out long inode) && inode > 0)
                {
                    inodes.Add(inode);
                }
            }
        }

        return inodes;
    }

    /// <summary>PIDs holding a descriptor on one of <paramref name="inodes"/>; other users' processes are unreadable and skipped.</summary>
    public static IEnumerable<int> SocketOwners(ISystemFiles files, IReadOnlySet<long> inodes)
    {
        var targets = inodes.Select(i => string.Create(CultureInfo.InvariantCulture, $"socket:[{i}]")).ToHashSet(StringComparer.Ordinal);
        foreach (int pid in Pids(files))
        {
            foreach (string fd in files.ListEntries($"/proc/{pid}/fd"))
            {
                if (files.ReadLink($"/proc/{pid}/fd/{fd}") is { } link && targets.Contains(link))
                {
                    yield return pid;
                    break;
                }
            }
        }
    }

    /// <summary>The processes of <paramref name="roots"/>' trees alive now: the roots and every descendant (by parent PID).</summary>
    public static IReadOnlyList<int> Tree(ISystemFiles files, IReadOnlyCollection<int> roots)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (int pid in Pids(files))
        {
            if (StatOf(files, pid) is { } s)
            {
                if (!children.TryGetValue(s.Ppid, out List<int>? list))
                {
                    children[s.Ppid] = list = [];
                }

                list.Add(pid);
            }
        }

        var tree = new List<int>();
        var seen = new HashSet<int>();
        var queue = new Queue<int>(roots.Where(r => files.Exists($"/proc/{r}/stat")));
        while (queue.TryDequeue(out int pid))
        {
            if (!seen.Add(pid))
            {
                continue;
            }

            tree.Add(pid);
            foreach (int child in children.GetValueOrDefault(pid) ?? [])
            {
                queue.Enqueue(child);
            }
        }

        return tree;
    }

    /// <summary>The numeric entries of /proc.</summary>
    public static IEnumerable<int> Pids(ISystemFiles files) =>
        files.ListDirectories("/proc")
            .Select(d => int.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : -1)
            .Where(p => p > 0);

    internal static ProcStat? StatOf(ISystemFiles files, int pid) =>
        StatText(files, pid) is { } text && ProcStat.TryParse(text, out ProcStat s) ? s : null;

    private static byte[]? StatText(ISystemFiles files, int pid)
    {
        var buffer = new byte[1024];
        int n = files.ReadOnce($"/proc/{pid}/stat", buffer);
        return n > 0 ? buffer[..n] : null;
    }

    /// <summary>A whole file read once (procfs tables grow with the sockets); empty when unreadable.</summary>
    private static string ReadAll(ISystemFiles files, string path)
    {
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = files.ReadOnce(path, buffer)) == buffer.Length && buffer.Length < 64 * 1024 * 1024)
        {
            buffer = new byte[buffer.Length * 4];
        }

        return n > 0 ? System.Text.Encoding.ASCII.GetString(buffer, 0, n) : "";
    }
}

/// <summary>
/// The CPU time and memory of the server's process tree, read with the CPU source on the run's
/// clock. CPU time is accumulated per process (utime + stime, every thread) from one reading to the
/// next, so a child that starts or ends does not make the sum jump: a process found after the first
/// reading counts in full when it started after it, else from when it was found. What a child used
/// in its last interval before it ended is missed (at most one telemetry interval).
/// </summary>
public sealed class ServerProcessTree
{
    private readonly ISystemFiles _files;
    private readonly double _clockTicksPerSecond;
    private readonly long _pageSize;
    private readonly int _ownPid;
    private readonly byte[] _buffer = new byte[1024];
    private Dictionary<int, (long Start, long Ticks)> _members = [];
    private Dictionary<int, (long Start, long Ticks)> _next = [];
    private readonly List<int> _pids = [];
    private long _ticks;
    private long _bootTicksAtFirst = -1;
    private bool _started;

    public ServerProcessTree(
        ServerLocation location, ISystemFiles? files = null, double clockTicksPerSecond = 100, long? pageSize = null, int? ownPid = null)
    {
        Location = location;
        _files = files ?? SystemFiles.Instance;
        _clockTicksPerSecond = clockTicksPerSecond;
        _pageSize = pageSize ?? Environment.SystemPageSize;
        _ownPid = ownPid ?? Environment.ProcessId;
    }

    public ServerLocation Location { get; }

    /// <summary>Most processes of the tree at one reading.</summary>
    public int MostProcesses { get; private set; }

    /// <summary>
    /// Cumulative CPU seconds of the tree since the first reading and its resident memory now; NaN
    /// when not measured or when no process of it is left. <paramref name="rescan"/> looks for new
    /// children (a scan of /proc: done at the window's edges and every second, not at every reading).
    /// </summary>
    public (double CpuSeconds, double RssBytes) Read(bool rescan)
    {
        if (!Location.Measured)
        {
            return (double.NaN, double.NaN);
        }

        bool first = !_started;
        if (first)
        {
            _started = true;
            _bootTicksAtFirst = BootTicks();
        }

        _pids.Clear();
        _pids.AddRange(first || rescan ? ServerProcessLocator.Tree(_files, Location.Pids) : (IEnumerable<int>)_members.Keys);
        Dictionary<int, (long Start, long Ticks)> now = _next;
        now.Clear();
        long rss = 0;
        foreach (int pid in _pids)
        {
            if (pid == _ownPid)
            {
                continue;
            }

            int n = _files.ReadOnce($"/proc/{pid}/stat", _buffer);
            if (n <= 0 || !ProcStat.TryParse(_buffer.AsSpan(0, n), out ProcStat s))
            {
                continue; // it ended between the scan and this reading
            }

            if (_members.TryGetValue(pid, out var before) && before.Start == s.StartTime)
            {
                _ticks += Math.Max(0, s.OwnTicks - before.Ticks);
            }
            else if (!first && _bootTicksAtFirst >= 0 && s.StartTime >= _bootTicksAtFirst)
            {
                _ticks += s.OwnTicks; // born since the first reading: all of its time is in the window's span
            }

            now[pid] = (s.StartTime, s.OwnTicks);
            rss += s.RssPages;
        }

        (_members, _next) = (now, _members);
        MostProcesses = Math.Max(MostProcesses, now.Count);
        double cpu = first && now.Count == 0 ? double.NaN : _ticks / _clockTicksPerSecond;
        return (cpu, now.Count == 0 ? double.NaN : rss * (double)_pageSize);
    }

    /// <summary>Clock ticks since boot now (/proc/uptime), to tell children born during the run; -1 when unreadable.</summary>
    private long BootTicks()
    {
        int n = _files.ReadOnce("/proc/uptime", _buffer);
        if (n <= 0)
        {
            return -1;
        }

        string text = System.Text.Encoding.ASCII.GetString(_buffer, 0, n);
        int space = text.IndexOf(' ', StringComparison.Ordinal);
        bool read = double.TryParse(space > 0 ? text[..space] : text, NumberStyles.Float, CultureInfo.InvariantCulture, out double s);
        return read ? (long)(s * _clockTicksPerSecond) : -1;
    }
}
