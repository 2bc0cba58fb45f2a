using System.Globalization;
using System.Runtime.InteropServices;
using Harness.Backends;

namespace Harness.Running;

/// <summary>Where the two sides of one duet pair run: their cores and, for a GPU backend, their GPUs.</summary>
public sealed record DuetSlots(IReadOnlyList<int> CpusA, IReadOnlyList<int> CpusB, int? GpuA, int? GpuB);

/// <summary>
/// How a duet job places its two sides (docs/ci-gate.md, "Duet"): the CPUs this process may use split
/// into two halves, A on the first and B on the second, swapped every round so that neither side keeps
/// the faster core (or the one that takes the interrupts). A GPU backend needs a GPU per side on this
/// node: one GPU shared by two runs is no longer the GPU either would have alone (they contend for its
/// SMs, memory bandwidth and clocks), so there duet is refused and the interleaved design offered.
/// </summary>
public sealed class DuetPlacement
{
    private DuetPlacement(IReadOnlyList<int> halfA, IReadOnlyList<int> halfB, bool gpus)
    {
        HalfA = halfA;
        HalfB = halfB;
        Gpus = gpus;
    }

    public IReadOnlyList<int> HalfA { get; }

    public IReadOnlyList<int> HalfB { get; }

    /// <summary>Each side also takes one GPU: cuda:0 and cuda:1, swapped with the cores.</summary>
    public bool Gpus { get; }

    /// <summary>Plans the placement, or refuses with one sentence (exit 2) where duet does not apply.</summary>
    /// <param name="cpus">The logical CPUs this process may use (<see cref="CpuAffinity.Allowed"/>).</param>
    /// <param name="gpuCount">GPUs on this node.</param>
    public static DuetPlacement Plan(BackendSpec a, BackendSpec b, IReadOnlyList<int> cpus, int gpuCount)
    {
        if (a.Target is not null || b.Target is not null)
        {
            throw HarnessException.BadInput("--duet runs both sides on this machine; a side that sends its requests to a server "
                + "(openai:URL) measures the server, "
                + "which the two sides would share: run ab without --duet.");
        }

        if (cpus.Count < 2)
        {
            throw HarnessException.BadInput($"--duet needs two or more CPUs, one set per side; this process may use {cpus.Count}: run ab "
                + $"without --duet (the interleaved design).");
        }

        bool cudaA = a.Device == "cuda", cudaB = b.Device == "cuda";
        if (cudaA != cudaB)
        {
            throw HarnessException.BadInput($"--duet compares like with like: A runs on {a} and B on {b}; give both sides the same kind "
                + $"of device.");
        }

        if (cudaA && gpuCount < 2)
        {
            throw HarnessException.BadInput(
                "--duet cannot run a CUDA backend on a node with " + gpuCount.ToString(CultureInfo.InvariantCulture)
                    + " GPU(s): one GPU shared by base and candidate is no longer the GPU either would have alone "
                + "(they contend for its SMs, memory bandwidth and clocks), which changes what is measured; run ab without --duet (the "
                    + "interleaved design), "
                + "or on a node with two GPUs, where duet puts A on cuda:0 and B on cuda:1.");
        }

        if (cudaA && (a.DeviceId != 0 || b.DeviceId != 0))
        {
            throw HarnessException.BadInput("--duet chooses the GPUs itself (A on cuda:0, B on cuda:1, swapped every round): give the "
                + "backend without a device id, e.g. onnx:cuda.");
        }

        int half = cpus.Count / 2;
        return new DuetPlacement(cpus.Take(half).ToList(), cpus.Skip(half).Take(half).ToList(), cudaA);
    }

    /// <summary>Round 1 puts A on the first half (and cuda:0), round 2 on the second (and cuda:1), and so on.</summary>
    public DuetSlots Round(int round)
    {
        bool swap = round % 2 == 0;
        int? gpuA = Gpus ? (swap ? 1 : 0) : null, gpuB = Gpus ? (swap ? 0 : 1) : null;
        return swap ? new DuetSlots(HalfB, HalfA, gpuA, gpuB) : new DuetSlots(HalfA, HalfB, gpuA, gpuB);
    }
}

/// <summary>
/// The CPUs a process may run on (sched_getaffinity) and pinning a whole process to a set of them: every
/// thread it has (sched_setaffinity on each task), so that threads it starts later inherit the set.
/// Linux only; elsewhere the allowed set is all processors and pinning is refused.
/// </summary>
public static partial class CpuAffinity
{
    private const int MaskBytes = 128; // 1024 CPUs

    public static IReadOnlyList<int> Allowed()
    {
        if (OperatingSystem.IsLinux())
        {
            var mask = new byte[MaskBytes];
            if (SchedGetAffinity(0, MaskBytes, mask) == 0)
            {
                return Parse(mask);
            }
        }

        return Enumerable.Range(0, Environment.ProcessorCount).ToList();
    }

    /// <summary>Pins every thread of this process to <paramref name="cpus"/>.</summary>
    public static void PinProcess(IReadOnlyList<int> cpus)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw HarnessException.BadInput("Pinning a duet side to its cores needs Linux (sched_setaffinity).");
        }

        byte[] mask = Mask(cpus);
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            if (int.TryParse(Path.GetFileName(task), NumberStyles.Integer, CultureInfo.InvariantCulture, out int tid)
                && SchedSetAffinity(tid, MaskBytes, mask) != 0 && Directory.Exists(task))
            {
                throw new HarnessException($"Could not pin thread {tid} to CPUs {Describe(cpus)} (sched_setaffinity failed with errno "
                    + $"{Marshal.GetLastPInvokeError()}).");
            }
        }
    }

    /// <summary>"0-3,6" style, as taskset and /proc write it.</summary>
    public static string Describe(IReadOnlyList<int> cpus) => string.Join(",",
        cpus.Order().Select(c => c.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Parses "0,2,5" (the form <see cref="Describe"/> writes) or a range "0-3".</summary>
    public static IReadOnlyList<int> ParseList(string text)
    {
        var cpus = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] ends = part.Split('-');
            if (ends.Length is < 1 or > 2 || !ends.All(e => int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                throw HarnessException.BadInput($"'{text}' is not a CPU list; write e.g. 0,1 or 0-3.");
            }

            int lo = int.Parse(ends[0], CultureInfo.InvariantCulture), hi = int.Parse(ends[^1], CultureInfo.InvariantCulture);
            if (hi < lo || hi >= MaskBytes * 8)
            {
                throw HarnessException.BadInput($"'{text}' is not a CPU list; write e.g. 0,1 or 0-3.");
            }

            cpus.AddRange(Enumerable.Range(lo, hi - lo + 1));
        }

        return cpus.Count > 0 ? cpus.Distinct().Order().ToList() : throw HarnessException.BadInput("The CPU list is empty.");
    }

    internal static byte[] Mask(IReadOnlyList<int> cpus)
    {
        var mask = new byte[MaskBytes];
        foreach (int c in cpus)
        {
            mask[c / 8] |= (byte)(1 << (c % 8));
        }

        return mask;
    }

    internal static List<int> Parse(byte[] mask) =>
        Enumerable.Range(0, mask.Length * 8).Where(c => (mask[c / 8] & (1 << (c % 8))) != 0).ToList();

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int pid, nint size, [Out] byte[] mask);

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nint size, byte[] mask);
}
