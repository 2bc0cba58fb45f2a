using System.Runtime.InteropServices;

namespace Harness.Hardware;

/// <summary>Reads the hardware fingerprint from /proc, /etc/os-release, glibc and NVML.</summary>
public static partial class HardwareProbe
{
    /// <summary>CPU flags worth recording: they decide which kernels ONNX Runtime and libtorch pick.</summary>
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

    /// <summary>A short, file-name-safe machine label for results/&lt;machine&gt;/: the first GPU, else the CPU.</summary>
    public static string MachineLabel(HardwareFingerprint hw)
    {
        string name = hw.Gpus.Count > 0 ? hw.Gpus[0].Name : $"cpu-{hw.Cpu.Model}";
        var chars = name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        string label = new string(chars);
        while (label.Contains("--", StringComparison.Ordinal))
        {
            label = label.Replace("--", "-", StringComparison.Ordinal);
        }

        label = label.Trim('-');
        return label.Length > 48 ? label[..48].TrimEnd('-') : label;
    }

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
