using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Harness.Hardware;

/// <summary>Reads the hardware fingerprint from /proc, /etc/os-release, glibc and NVML.</summary>
public static partial class HardwareProbe
{
    private const int MaxLabelLength = 48;

    /// <summary>CPU flags worth recording: they decide which kernels ONNX Runtime and libtorch pick.</summary>
    private static readonly string[] InterestingFlags = ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx512_fp16", "amx_bf16", "amx_int8", "sve"];

    /// <summary>More ISA flags that change the kernels MLAS, oneDNN and libtorch choose (x86 and Arm), looked for since the comparability rule.</summary>
    private static readonly string[] MoreIsaFlags =
    [
        "sse4_2", "avx", "f16c", "avx512bw", "avx512vl", "avx512dq", "avx512cd", "avx512ifma", "avx512vbmi", "avx512_vbmi2",
        "avx512_bitalg", "avx512_vpopcntdq", "avx_vnni", "amx_tile", "amx_fp16", "asimd", "asimdhp", "asimddp", "sve2", "bf16", "i8mm", "sme",
    ];

    /// <summary>The flags looked for by files that do not list theirs (<see cref="CpuInfo.CheckedFeatures"/> null).</summary>
    public static IReadOnlyList<string> LegacyCheckedFeatures => InterestingFlags;

    /// <summary>Every flag looked for now.</summary>
    public static IReadOnlyList<string> CheckedFeatures { get; } = [.. InterestingFlags, .. MoreIsaFlags];

    public static HardwareFingerprint Probe(IReadOnlyDictionary<string, string?> packageVersions, INvml? nvml = null)
    {
        IReadOnlyList<GpuInfo> gpus = [];
        string? gpuNote;
        string? cudaDriver;
        if (nvml is null)
        {
            using var real = new NvmlLibrary();
            gpus = real.ListGpus();
            gpuNote = real.Available ? null : real.UnavailableReason;
            cudaDriver = real.Available ? real.CudaDriverVersion : null;
        }
        else
        {
            gpus = nvml.ListGpus();
            gpuNote = nvml.Available ? null : nvml.UnavailableReason;
            cudaDriver = nvml.Available ? nvml.CudaDriverVersion : null;
        }

        return new HardwareFingerprint
        {
            Cpu = WithIdentity(ReadCpu(), ReadLines("/proc/cpuinfo")),
            MemoryBytes = ReadMemTotal(),
            Os = ReadOsRelease() ?? RuntimeInformation.OSDescription,
            Kernel = ReadFirstLine("/proc/sys/kernel/osrelease") ?? Environment.OSVersion.VersionString,
            Glibc = ReadGlibcVersion(),
            Dotnet = RuntimeInformation.FrameworkDescription,
            Hostname = Environment.MachineName,
            Packages = packageVersions,
            Gpus = gpus,
            GpuNote = gpus.Count == 0 ? gpuNote ?? "NVML reports no GPU" : null,
            CudaDriver = cudaDriver,
        };
    }

    /// <summary>
    /// Adds what tells two CPUs of one marketing name apart, from /proc/cpuinfo's first processor:
    /// vendor, family, model number, stepping, microcode (Arm: implementer, architecture, part,
    /// variant and revision), and every flag of <see cref="CheckedFeatures"/> it has.
    /// </summary>
    public static CpuInfo WithIdentity(CpuInfo cpu, IEnumerable<string> cpuinfo)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in cpuinfo)
        {
            if (line.Trim().Length == 0 && fields.Count > 0)
            {
                break; // the first processor is enough: the rest repeat it
            }

            int colon = line.IndexOf(':');
            if (colon > 0)
            {
                fields.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
            }
        }

        string? Field(string name) => fields.TryGetValue(name, out string? v) && v.Length > 0 ? v : null;
        var flags = (Field("flags") ?? Field("Features") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        bool arm = Field("CPU implementer") is not null;
        int? variant = Number(Field("CPU variant"));
        int? revision = Number(Field("CPU revision"));
        return cpu with
        {
            Features = flags.Count > 0 ? CheckedFeatures.Where(flags.Contains).ToList() : cpu.Features,
            CheckedFeatures = flags.Count > 0 ? CheckedFeatures : null,
            Vendor = arm ? Field("CPU implementer") : Field("vendor_id"),
            Family = Number(arm ? Field("CPU architecture") : Field("cpu family")),
            ModelNumber = Number(arm ? Field("CPU part") : Field("model")),
            Stepping = arm ? (variant is { } v && revision is { } r ? v * 16 + r : null) : Number(Field("stepping")),
            Microcode = Field("microcode"),
        };
    }

    /// <summary>Decimal or 0x-prefixed hexadecimal, as /proc/cpuinfo writes them.</summary>
    private static int? Number(string? text)
    {
        if (text is null)
        {
            return null;
        }

        bool hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        return int.TryParse(hex ? text[2..] : text, hex ? System.Globalization.NumberStyles.HexNumber : System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out int n) ? n : null;
    }

    private static IEnumerable<string> ReadLines(string path)
    {
        try
        {
            return File.ReadLines(path).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
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
