namespace Harness.Results;

/// <summary>
/// One side of a duet pair (<c>harness ab --duet</c>): base and candidate ran at the same time on
/// their own cores, and each counted its completed requests over fixed windows of wall-clock time
/// (UTC, the clock both processes share) from an instant both agreed on after warm-up. Window k
/// covers [<see cref="StartUtc"/> + k x <see cref="WindowS"/>, + <see cref="WindowS"/>), so the two
/// sides' windows with the same index were measured over the same second.
/// </summary>
public sealed class DuetWindows
{
    /// <summary>The duet job, shared by both sides of all its pairs.</summary>
    public string Job { get; set; } = "";

    /// <summary>The pair (round), from 1.</summary>
    public int Pair { get; set; }

    /// <summary>"a" (the base) or "b" (the candidate).</summary>
    public string Side { get; set; } = "";

    /// <summary>The logical CPUs this side was pinned to (sched_setaffinity, set by the harness).</summary>
    public int[] Cpus { get; set; } = [];

    /// <summary>The GPU this side ran on when the pair split two GPUs, e.g. "cuda:1"; null on CPUs.</summary>
    public string? Device { get; set; }

    /// <summary>The agreed instant the measured windows start from.</summary>
    public DateTime StartUtc { get; set; }

    public double WindowS { get; set; }

    /// <summary>False when the partner did not arrive in time: the windows then start at this side's own start and align with
    /// nothing.</summary>
    public bool Synchronized { get; set; }

    /// <summary>Ok requests completed in each full window of the measured phase.</summary>
    public long[] Completions { get; set; } = [];

    /// <summary>The latencies of those requests summed per window, in milliseconds.</summary>
    public double[] LatencySumMs { get; set; } = [];
}
