using Harness.Agents.Tools;
using Harness.Measurement;

namespace Harness.Tests.Agents.Tools;

/// <summary>exec runs allowed commands only, and every way a subprocess can go wrong is a failed call with its reason.</summary>
public class ExecToolTests
{
    private const string Allow = """
        { "allow": [
            { "name": "wc", "command": "wc", "args": ["-l", "-w", "-c"] },
            { "name": "flood", "command": "yes", "args": ["flooding the output"] },
            { "name": "crash", "command": "/bin/sh", "args": ["-c", "kill -SEGV $$"] },
            { "name": "fail", "command": "/bin/sh", "args": ["-c", "echo broken >&2; exit 3"] },
            { "name": "sleep", "command": "sleep", "args": ["30"] },
            { "name": "net", "command": "/bin/sh", "args": ["-c", "cat /proc/net/dev | wc -l"] },
            { "name": "where", "command": "/bin/sh", "args": ["-c", "pwd; env | wc -l"] }
          ], "max_output_kb": 64, "sandbox": "none" }
        """;

    [Fact]
    public void Runs_an_allowed_command_on_its_input()
    {
        using var t = new PreparedTool(new ExecTool(), Allow);
        Assert.Equal("    932    6956   65536\n", t.Call("wc", "input_kb=64"));
    }

    [Fact]
    public void Runs_in_its_own_folder_with_an_empty_environment()
    {
        using var t = new PreparedTool(new ExecTool(), Allow);
        string[] lines = t.Call("where", "input_kb=0").Split('\n');
        Assert.StartsWith(t.Environment.TempDirectory, lines[0]);
        Assert.InRange(int.Parse(lines[1].Trim(), System.Globalization.CultureInfo.InvariantCulture), 4, 6); // PATH, LC_ALL, HOME, TMPDIR (+ the shells' PWD and OLDPWD)
    }

    [Theory]
    [InlineData("flood", "output limit")]
    [InlineData("crash", "killed by signal 11")]
    [InlineData("fail", "exited with code 3: broken")]
    [InlineData("rm", "not on the allow-list")]
    public void Failures_are_calls_with_a_reason(string command, string reason)
    {
        using var t = new PreparedTool(new ExecTool(), Allow);
        ToolResult r = ToolRunner.Run(t.Tool, t.Plan(command, "input_kb=1"), 0, TimeSpan.FromSeconds(20), StopwatchClock.Instance, CancellationToken.None);
        Assert.Equal(ToolOutcome.Error, r.Outcome);
        Assert.Contains(reason, r.Reason);
    }

    [Fact]
    public void The_subprocess_cpu_time_is_measured()
    {
        Assert.Equal(("err", TimeSpan.FromSeconds(60.13)), ExecTool.SplitTimes("err\n0m0.000000s 0m0.000000s\n1m0.120000s 0m0.010000s\n"));
        Assert.Equal(("no times here", TimeSpan.Zero), ExecTool.SplitTimes("no times here"));
        using var t = new PreparedTool(new ExecTool(), Allow);
        ToolOutput o = t.Tool.Invoke(t.Plan("wc", "input_kb=64"), new ToolContext(0, CancellationToken.None));
        Assert.Equal("    932    6956   65536\n", o.Text);
        Assert.True(o.SubprocessCpu >= TimeSpan.Zero);
    }

    [Fact]
    public void A_hanging_subprocess_is_killed_at_the_timeout()
    {
        using var t = new PreparedTool(new ExecTool(), Allow);
        ToolResult r = ToolRunner.Run(t.Tool, t.Plan("sleep", "input_kb=0"), 0, TimeSpan.FromMilliseconds(300), StopwatchClock.Instance, CancellationToken.None);
        Assert.Equal(ToolOutcome.Timeout, r.Outcome);
    }

    [Fact]
    public void With_unshare_the_command_sees_no_network_device_but_loopback()
    {
        using var t = new PreparedTool(new ExecTool(), Allow.Replace("\"sandbox\": \"none\"", "\"sandbox\": \"auto\""));
        var exec = (ExecTool)t.Tool;
        if (!exec.Isolation.Contains("unshare", StringComparison.Ordinal))
        {
            return; // no user namespaces on this machine: isolation is reported as absent instead
        }

        // /proc/net/dev has two header lines and one line per interface: only "lo" in a new namespace.
        Assert.Equal("3", t.Call("net", "input_kb=0").Trim());
    }

    [Fact]
    public void A_command_missing_from_the_machine_is_bad_input()
    {
        var e = Assert.Throws<HarnessException>(() => new PreparedTool(new ExecTool(), """{ "allow": [ { "name": "x", "command": "no-such-command-here" } ] }"""));
        Assert.Contains("no-such-command-here", e.Message);
    }
}
