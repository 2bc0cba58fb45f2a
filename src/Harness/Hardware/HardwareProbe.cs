using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Harness.Hardware;

/// <summary>Reads the hardware fingerprint from /proc, /etc/os-release, glibc and NVML.</summary>
public static partial class HardwareProbe
{
    /// <summary>CPU flags worth recording: they decide which kernels ONNX Runtime and libtorch pick.</summary>
    private const int MaxLabelLength = 48;

    private static readonly string[] InterestingFlags = ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx512_fp16", "amx_bf16", "amx_int8", "sve"];

    public static HardwareFingerprint Probe(IReadOnlyDictionary<string, string?> packageVersions, INvml? nvml = null)
    {
        IReadOnlyList<GpuInfo> gpus = [];
        string? gpuNote;
        if (nvml is null)
        {
            using var real = new NvmlLibrary();
            gpus = real.ListGpus();
            gpuNote = real.Available ? null : real.UnavailableReason;
        }
        else
        {
            gpus = nvml.ListGpus();
            gpuNote = nvml.Available ? null : nvml.UnavailableReason;
        }

        return new HardwareFingerprint
        {
            Cpu = ReadCpu(),
            MemoryBytes = ReadMemTotal(),
            Os = ReadOsRelease() ?? RuntimeInformation.OSDescription,
            Kernel = ReadFirstLine("/proc/sys/kernel/osrelease") ?? Environment.OSVersion.VersionString,
            Glibc = ReadGlibcVersion(),
            Dotnet = RuntimeInformation.FrameworkDescription,
            Hostname = Environment.MachineName,
            Packages = packageVersions,
            Gpus = gpus,
            GpuNote = gpus.Count == 0 ? gpuNote ?? "NVML reports no GPU" : null,
        };
    }

    /// <summary>
    /// A short, file-name-safe label for results/&lt;machine&gt;/ that tells apart machines that
    /// measure differently: on a GPU machine the GPU and how many (<c>nvidia-h200-x8</c>); else the
    /// CPU model, its ISA level and its logical cores (<c>cpu-amd-epyc-avx512-2c</c>), since an AVX2
    /// and an AVX-512 part of one model name run the same kernels at different speeds.
    /// </summary>
    public static string MachineLabel(HardwareFingerprint hw)
    {
        if (hw.Gpus.Count > 0)
        {
            return Slug(hw.Gpus[0].Name, MaxLabelLength - 6) + "-x" + hw.Gpus.Count.ToString(CultureInfo.InvariantCulture);
        }

        string suffix = $"-{IsaLevel(hw.Cpu.Features)}-{hw.Cpu.LogicalCores.ToString(CultureInfo.InvariantCulture)}c";
        return "cpu-" + Slug(CpuModelWords().Replace(hw.Cpu.Model, " "), MaxLabelLength - 4 - suffix.Length) + suffix;
    }

    /// <summary>The widest vector or matrix extension the CPU has: the one ONNX Runtime's and libtorch's kernels pick.</summary>
    public static string IsaLevel(IReadOnlyCollection<string> features) =>
        features.Contains("amx_bf16") || features.Contains("amx_int8") ? "amx"
        : features.Contains("avx512f") ? "avx512"
        : features.Contains("avx2") ? "avx2"
        : features.Contains("sve") ? "sve"
        : "base";

    /// <summary>Lower case, ASCII letters and digits, single hyphens, at most <paramref name="max"/> characters.</summary>
    private static string Slug(string text, int max)
    {
        var chars = text.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        string slug = new string(chars);
        while (slug.Contains("--", StringComparison.Ordinal))
        {
            slug = slug.Replace("--", "-", StringComparison.Ordinal);
        }

        slug = slug.Trim('-');
        slug = slug.Length > max ? slug[..max].TrimEnd('-') : slug;
        return slug.Length > 0 ? slug : "unknown";
    }

    /// <summary>Words of a CPU model name that tell nothing apart: trademarks, "Processor", "CPU", the clock, "96-Core".</summary>
    [GeneratedRegex(@"\((R|TM)\)|\b(Processor|CPU)\b|@\s*[\d.]+\s*GHz|\b\d+-Core\b", RegexOptions.IgnoreCase)]
    private static partial Regex CpuModelWords();

    private static CpuInfo ReadCpu()
    {
        string model = RuntimeInformation.ProcessArchitecture.ToString();
        var features = new List<string>();
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal) && model == RuntimeInformation.ProcessArchitecture.ToString())
                {
                    model = line[(line.IndexOf(':') + 1)..].Trim();
                }
                else if (line.StartsWith("flags", StringComparison.Ordinal) || line.StartsWith("Features", StringComparison.Ordinal))
                {
                    var flags = line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
                    features = InterestingFlags.Where(flags.Contains).ToList();
                    break;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return new CpuInfo(model, Environment.ProcessorCount, features);
    }

    private static long ReadMemTotal()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    string kb = line["MemTotal:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    private static string? ReadOsRelease()
    {
        try
        {
            foreach (string line in File.ReadLines("/etc/os-release"))
            {
                if (line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))
                {
                    return line["PRETTY_NAME=".Length..].Trim('"');
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    private static string? ReadFirstLine(string path)
    {
        try
        {
            return File.ReadLines(path).FirstOrDefault()?.Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string? ReadGlibcVersion()
    {
        try
        {
            return Marshal.PtrToStringUTF8(GnuGetLibcVersion());
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null; // musl or not Linux
        }
    }

    [LibraryImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static partial nint GnuGetLibcVersion();
}
