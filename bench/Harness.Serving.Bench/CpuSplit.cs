using System.Globalization;

namespace Harness.Serving.Bench;

/// <summary>
/// CPU time of the server process, split by who spent it: the decoder is the live threads that neither
/// the .NET runtime (".NET TP Worker", ".NET Sockets", ".NET BGC"...) nor Kestrel ("Kestrel Timer")
/// named, other than the main thread: the device thread (<c>harness-llm-device</c>, which also runs the
/// batcher) and ONNX Runtime's or libtorch's pool (its threads inherit the name of the thread that
/// made them), which live as long as the server. Serving is the rest of the process's time (Kestrel,
/// JSON, SSE, the tokenizer, GC), which also counts the thread-pool threads that ended in between
/// (a sum over live threads would lose them).
/// </summary>
internal readonly record struct CpuSplit(TimeSpan Serving, TimeSpan Decoder)
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux

    public static CpuSplit Read(int pid)
    {
        long decoder = 0;
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(task, "stat"));
            }
            catch (IOException)
            {
                continue; // the thread ended
            }

            (string comm, long ticks) = Parse(stat);
            bool named = comm.StartsWith(".NET", StringComparison.Ordinal) || comm.StartsWith("Kestrel", StringComparison.Ordinal);
            if (!named && Path.GetFileName(task) != pid.ToString(CultureInfo.InvariantCulture))
            {
                decoder += ticks;
            }
        }

        long total = Parse(File.ReadAllText($"/proc/{pid}/stat")).Ticks;
        return new CpuSplit(TimeSpan.FromSeconds((total - decoder) / TicksPerSecond), TimeSpan.FromSeconds(decoder / TicksPerSecond));
    }

    /// <summary>The name and utime + stime of a stat line ("pid (comm) state ... utime stime ...").</summary>
    private static (string Comm, long Ticks) Parse(string stat)
    {
        int open = stat.IndexOf('(', StringComparison.Ordinal), close = stat.LastIndexOf(')');
        string[] f = stat[(close + 2)..].Split(' ');
        return (stat[(open + 1)..close], long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture));
    }
}

/// <summary>
/// The server's <see cref="CpuSplit"/> read every 500 ms on a thread of this process (the server is
/// not asked anything; each read opens every thread's stat file, and on 2 cores a read every 100 ms was
/// one more thread waking beside the decoder's ten times a second), with the wall clock, so that the
/// split at the client's measured window (its result's <c>started_utc</c> and <c>duration_s</c>, on the
/// same machine's clock) is interpolated between the reads around each end.
/// </summary>
internal sealed class CpuTrace : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    private readonly int _pid;
    private readonly List<(DateTime Utc, CpuSplit Cpu)> _reads = [];
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _thread;

    private CpuTrace(int pid)
    {
        _pid = pid;
        ReadOnce();
        _thread = new Thread(Loop) { IsBackground = true, Name = "serving-tax-cpu" };
        _thread.Start();
    }

    public static CpuTrace Start(int pid) => new(pid);

    /// <summary>Stops reading after one last read.</summary>
    public void Stop()
    {
        _stop.Set();
        _thread.Join();
    }

    /// <summary>The split at <paramref name="utc"/>, linear between the reads around it (the first or last read outside them).</summary>
    public CpuSplit At(DateTime utc)
    {
        int after = _reads.FindIndex(r => r.Utc >= utc);
        if (after <= 0)
        {
            return after == 0 ? _reads[0].Cpu : _reads[^1].Cpu;
        }

        (DateTime t0, CpuSplit c0) = _reads[after - 1];
        (DateTime t1, CpuSplit c1) = _reads[after];
        double f = (utc - t0) / (t1 - t0);
        return new CpuSplit(c0.Serving + ((c1.Serving - c0.Serving) * f), c0.Decoder + ((c1.Decoder - c0.Decoder) * f));
    }

    public void Dispose()
    {
        if (_thread.IsAlive)
        {
            Stop();
        }

        _stop.Dispose();
    }

    private void Loop()
    {
        while (!_stop.Wait(Interval))
        {
            ReadOnce();
        }

        ReadOnce();
    }

    private void ReadOnce()
    {
        try
        {
            _reads.Add((DateTime.UtcNow, CpuSplit.Read(_pid)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the server ended; its last reads stand
        }
    }
}
