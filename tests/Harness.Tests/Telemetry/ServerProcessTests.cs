using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Harness.Telemetry;
using Harness.Tests.Fakes;
using Harness.Trust.Disturbance;

namespace Harness.Tests.Telemetry;

/// <summary>
/// Issue 24: the server under test found from its port (fake and real procfs), read with the CPU
/// telemetry, and not counted as disturbance.
/// </summary>
public class ServerProcessTests
{
    private const int Self = 4242;
    private readonly FakeSystemFiles _files = new();
    private readonly FakeClock _clock = FakeClock.Milliseconds();

    /// <summary>A server (42) on port 8000, its worker (43) and the worker's helper (44); a stranger (50); a server (60) on 9000.</summary>
    private void ServerOn8000()
    {
        _files.SetPidStat(42, ppid: 1, utime: 500, command: "llama-server");
        _files.SetPidStat(43, ppid: 42, utime: 100);
        _files.SetPidStat(44, ppid: 43, utime: 10);
        _files.SetPidStat(50, ppid: 1, utime: 999);
        _files.SetPidStat(60, ppid: 1, utime: 999);
        _files.SetListener(9000, inode: 777, pid: 60);
        _files.SetListener(8000, inode: 555, pid: 42);
    }

    [Fact]
    public void A_loopback_port_leads_to_the_process_holding_its_listening_socket_and_the_tree_below_it()
    {
        ServerOn8000();

        ServerLocation at = ServerProcessLocator.Locate("http://127.0.0.1:8000/v1", null, _files, Self)!;

        Assert.True(at.Measured, at.NotMeasured);
        Assert.Equal([42], at.Pids);
        Assert.Equal("listens on port 8000", at.How);
        Assert.Equal("llama-server", at.Command);
        Assert.Equal([42, 43, 44], ServerProcessLocator.Tree(_files, at.Pids).Order());
        Assert.Equal(new HashSet<long> { 555 }, ServerProcessLocator.ListeningInodes(_files, 8000));
    }

    [Theory]
    [InlineData("http://localhost:8000/v1")]
    [InlineData("http://[::1]:8000/v1")]
    public void Localhost_and_ipv6_loopback_are_looked_up_in_tcp6_too(string url)
    {
        _files.SetPidStat(42, ppid: 1, utime: 1);
        _files.SetListener(8000, inode: 556, pid: 42, ipv6: true);

        Assert.Equal([42], ServerProcessLocator.Locate(url, null, _files, Self)!.Pids);
    }

    [Fact]
    public void Forked_workers_sharing_the_socket_are_one_server_rooted_at_their_parent()
    {
        ServerOn8000();
        _files.Links["/proc/43/fd/3"] = "socket:[555]";

        Assert.Equal([42], ServerProcessLocator.Locate("http://127.0.0.1:8000", null, _files, Self)!.Pids);
    }

    [Fact]
    public void A_remote_url_a_port_nobody_listens_on_a_hidden_owner_and_this_process_are_not_measured_and_say_why()
    {
        ServerOn8000();
        _files.SetListener(7000, inode: 888, pid: 70); // no /proc/70: another user's or a container's process

        ServerLocation remote = ServerProcessLocator.Locate("http://10.1.2.3:8000/v1", null, _files, Self)!;
        ServerLocation nobody = ServerProcessLocator.Locate("http://127.0.0.1:8001/v1", null, _files, Self)!;
        ServerLocation hidden = ServerProcessLocator.Locate("http://127.0.0.1:7000/v1", null, _files, 1)!;
        _files.Links.Remove("/proc/70/fd/7");
        ServerLocation own = ServerProcessLocator.Locate("http://127.0.0.1:8000/v1", null, _files, ownPid: 42)!;

        Assert.StartsWith("server CPU not measured: 10.1.2.3 is not this machine", remote.NotMeasured);
        Assert.Contains("no socket listens on port 8001", nobody.NotMeasured);
        Assert.Contains("--server-pid", hidden.NotMeasured);
        Assert.Contains("served by this process itself", own.NotMeasured);
        Assert.All(new[] { remote, nobody, hidden, own }, l => Assert.False(l.Measured));
        Assert.Null(ServerProcessLocator.Locate(null, null, _files, Self));
    }

    [Fact]
    public void Server_pid_wins_over_the_url_and_a_pid_that_is_not_there_is_said()
    {
        ServerOn8000();

        ServerLocation given = ServerProcessLocator.Locate("http://10.1.2.3:8000/v1", 50, _files, Self)!;
        ServerLocation missing = ServerProcessLocator.Locate(null, 51, _files, Self)!;

        Assert.Equal([50], given.Pids);
        Assert.Equal("--server-pid 50", given.How);
        Assert.Contains("--server-pid 51 names no process", missing.NotMeasured);
    }

    [Fact]
    public void Tree_cpu_is_accumulated_per_process_so_children_that_come_and_go_do_not_make_it_jump()
    {
        ServerOn8000();
        _files.Files["/proc/uptime"] = "100.00 50.00\n"; // 10,000 ticks since boot at the first reading
        ServerLocation at = ServerProcessLocator.Locate("http://127.0.0.1:8000", null, _files, Self)!;
        var tree = new ServerProcessTree(at, _files, 100, 4096, Self);

        Assert.Equal(0, tree.Read(rescan: true).CpuSeconds); // the first reading is the baseline

        _files.SetPidStat(42, ppid: 1, utime: 550);       // +50
        _files.SetPidStat(43, ppid: 42, utime: 130);      // +30
        _files.Files.Remove("/proc/44/stat");              // ended: what it used since the last reading is lost
        _files.SetPidStat(45, ppid: 42, utime: 20, startTime: 10_050); // born since the first reading: all 20 count
        _files.SetPidStat(46, ppid: 43, utime: 70, startTime: 9_000);  // older, found only now: counts from now
        (double cpu, double rss) = tree.Read(rescan: true);

        Assert.Equal(1.0, cpu, 9);
        Assert.Equal(4 * 100 * 4096.0, rss);

        _files.SetPidStat(42, ppid: 1, utime: 560);
        _files.SetPidStat(46, ppid: 43, utime: 75, startTime: 9_000);
        _files.SetPidStat(43, ppid: 42, utime: 5, startTime: 20_000); // PID 43 reused by a new process: counts from its start
        Assert.Equal(1.2, tree.Read(rescan: false).CpuSeconds, 9);
        Assert.Equal(4, tree.MostProcesses);
    }

    [Fact]
    public void Quiet_host_does_not_count_the_server_under_test_among_the_other_processes()
    {
        // Two cores at 100 ticks/s, 1 s: user+nice+system 150 ticks; the harness 40, the server 100, the rest 10.
        ServerOn8000();
        ServerLocation? at = ServerProcessLocator.Locate("http://127.0.0.1:8000/v1", null, _files, Self);
        (DisturbanceReport withServer, TelemetryReport report) = Measure(at);
        (DisturbanceReport without, _) = Measure(null);

        Assert.Equal(0.1, withServer.OtherProcessesCores!.Value, 6);
        Assert.Equal(1.0, withServer.ServerProcessCores!.Value, 6);
        Assert.Equal(1.1, without.OtherProcessesCores!.Value, 6);
        Assert.Null(without.ServerProcessCores);

        ServerProcessTelemetry server = report.Server!;
        Assert.Equal(1.0, server.CpuS!.Value, 6);
        Assert.Equal(1.0, server.CpuCores!.Value, 6);
        Assert.Equal(3 * 100 * 4096L, server.RssPeakBytes);
        Assert.Equal(3, server.Processes);
        Assert.Null(server.Note);
        Assert.Equal(0.1, ((double?[])report.Cpu!.Series!.Columns["other_processes_cores"]!)[0]!.Value, 6);

        DisturbanceJudge.Apply(withServer, DisturbanceLimits.Default with { MaxOtherCores = 0.2 }, 1);
        DisturbanceJudge.Apply(without, DisturbanceLimits.Default with { MaxOtherCores = 0.2 }, 1);
        Assert.False(withServer.Disturbed);
        Assert.True(without.Disturbed);
    }

    [Fact]
    public void A_server_that_is_not_measured_keeps_its_note_in_the_report()
    {
        ServerOn8000();
        (_, TelemetryReport report) = Measure(ServerProcessLocator.Locate("http://10.1.2.3:8000/v1", null, _files, Self));

        Assert.Null(report.Server!.CpuS);
        Assert.StartsWith("server CPU not measured", report.Server.Note);
    }

    private (DisturbanceReport Disturbance, TelemetryReport Report) Measure(ServerLocation? server)
    {
        _files.SetPidStat(42, ppid: 1, utime: 500);
        _files.SetPidStat(43, ppid: 42, utime: 100);
        _files.SetPidStat(44, ppid: 43, utime: 10);
        _files.SetProcStatFields(2, user: 1000, nice: 0, system: 0, idle: 5000, iowait: 0, irq: 0, softirq: 0, steal: 0);
        _files.SetProcessStat(utime: 100, stime: 0, rssPages: 10);
        var source = new CpuSource(_clock.Frequency, _files, clockTicksPerSecond: 100, pageSize: 4096, server: server, ownPid: Self);
        long t0 = _clock.Timestamp;
        source.Sample(t0, windowEdge: true);

        _clock.AdvanceMs(1000);
        _files.SetProcStatFields(2, user: 1150, nice: 0, system: 0, idle: 5050, iowait: 0, irq: 0, softirq: 0, steal: 0);
        _files.SetProcessStat(utime: 140, stime: 0, rssPages: 10);
        _files.SetPidStat(42, ppid: 1, utime: 560);
        _files.SetPidStat(43, ppid: 42, utime: 130);
        _files.SetPidStat(44, ppid: 43, utime: 20);
        source.Sample(_clock.Timestamp, windowEdge: true);

        var report = new TelemetryReport { Enabled = true };
        source.Contribute(new TelemetryWindow(t0, _clock.Timestamp, _clock.Frequency), report);
        HostDisturbance.Analyze(report.Disturbance);
        return (report.Disturbance!, report);
    }

    [Fact]
    public void On_this_machine_a_loopback_listener_leads_to_its_process_and_a_child_is_in_its_tree()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var child = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            // ownPid 0: no process is "this one", so the test process may be the server it finds.
            ServerLocation at = ServerProcessLocator.Locate($"http://127.0.0.1:{port}/v1", null, SystemFiles.Instance, ownPid: 0)!;
            ServerLocation self = ServerProcessLocator.Locate($"http://localhost:{port}/v1", null)!;

            Assert.True(at.Measured, at.NotMeasured);
            Assert.Equal([Environment.ProcessId], at.Pids);
            Assert.Contains(child.Id, ServerProcessLocator.Tree(SystemFiles.Instance, at.Pids));
            Assert.Contains("served by this process itself", self.NotMeasured);
        }
        finally
        {
            child.Kill();
        }
    }
}
