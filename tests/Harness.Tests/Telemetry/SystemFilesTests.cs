using System.Diagnostics;
using System.Text;
using Harness.Telemetry;

namespace Harness.Tests.Telemetry;

public class SystemFilesTests
{
    [Fact]
    public void Rereading_a_kept_open_proc_file_gives_fresh_contents()
    {
        var files = new SystemFiles();
        var buffer = new byte[4096];
        long first = CpuTicks(files, buffer);

        var sw = Stopwatch.StartNew();
        long sum = 0;
        while (CpuTicks(files, buffer) == first && sw.Elapsed < TimeSpan.FromSeconds(30))
        {
            for (int i = 0; i < 1_000_000; i++)
            {
                sum += i ^ (sum >> 3);
            }
        }

        Assert.True(CpuTicks(files, buffer) > first, $"utime+stime never moved from {first} ({sum})");
    }

    [Fact]
    public void A_missing_file_reads_as_minus_one()
    {
        Assert.Equal(-1, new SystemFiles().Read("/proc/no-such-file", new byte[16]));
        Assert.Empty(new SystemFiles().ListDirectories("/no/such/dir"));
    }

    /// <summary>utime + stime of this process, fields 14 and 15 of /proc/self/stat.</summary>
    private static long CpuTicks(SystemFiles files, byte[] buffer)
    {
        int n = files.Read("/proc/self/stat", buffer);
        string text = Encoding.ASCII.GetString(buffer, 0, n);
        string[] fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11]) + long.Parse(fields[12]);
    }
}
