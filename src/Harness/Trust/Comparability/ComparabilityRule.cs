using System.Globalization;
using System.Text.Json.Nodes;
using Harness.Hardware;
using Harness.Metrics;
using Harness.Results;

namespace Harness.Trust.Comparability;

/// <summary>
/// The one rule that says whether two runs measured the same thing on the same kind of machine
/// (issue 13): compare, merge, project, plan, report and the history noise model all ask it. It
/// lists every field on which the runs differ and says which ones move speed:
/// <list type="bullet">
/// <item>the CPU: vendor, family, model number and stepping from /proc/cpuinfo, its name, ISA features, logical cores, memory;</item>
/// <item>the GPUs: name, memory, driver, power limit, clock limits, MIG mode; the CUDA driver;</item>
/// <item>the runtimes (every package version the fingerprint records) and the harness release;</item>
/// <item>the workload's own settings: backend, scenario, and every config entry but run length, seed and paths (model file hash, batch, threads, dtype...).</item>
/// </list>
/// Hostname, kernel, OS, glibc, .NET, microcode and the harness build are listed as harmless.
/// A field one run did not record (an older file) is not a difference: it could not be checked.
/// </summary>
public static class ComparabilityRule
{
    public const string AllowHardwareFlag = "--allow-hardware-change";
    public const string AllowConfigFlag = "--allow-config-change";

    /// <summary>Relative memory difference below which two machines have "the same" memory (kernels reserve a little differently).</summary>
    private const double MemoryTolerance = 0.02;

    /// <summary>Config entries that do not change what is measured: how long, which seed, where files are, how the run was labelled.</summary>
    private static readonly HashSet<string> HarmlessConfig = new(StringComparer.Ordinal)
    {
        ConfigKeys.CommandLine, ConfigKeys.ClockFrequencyHz, ConfigKeys.ModelPath, ConfigKeys.ModelPathOption,
        ConfigKeys.SweepKind, ConfigKeys.SweepPoint, ConfigKeys.Price, ConfigKeys.Seed,
        ConfigKeys.Warmup, ConfigKeys.MinDurationS, ConfigKeys.MaxDurationS, ConfigKeys.MinRequests,
        ConfigKeys.RequestTimeoutS, ConfigKeys.MaxErrorRate, ConfigKeys.TailPercentile, ConfigKeys.Slo,
        ConfigKeys.DeviceId, ConfigKeys.UntilTail,
    };

    /// <summary>Of the harmless config entries, those not worth listing either (they differ between any two runs).</summary>
    private static readonly HashSet<string> Unlisted = new(StringComparer.Ordinal)
    {
        ConfigKeys.CommandLine, ConfigKeys.ClockFrequencyHz, ConfigKeys.SweepPoint, ConfigKeys.ModelPathOption, ConfigKeys.Price,
    };

    /// <summary>
    /// Checks every run of both sides against the first base run: the differences (each once), and
    /// what could not be checked. <paramref name="baseNames"/> and <paramref name="currentNames"/> name
    /// the runs in the sentences ("base #1" when null).
    /// </summary>
    public static ComparabilityVerdict Check(
        IReadOnlyList<ResultDocument> baseDocs,
        IReadOnlyList<ResultDocument> currentDocs,
        IReadOnlyList<string>? baseNames = null,
        IReadOnlyList<string>? currentNames = null)
    {
        var runs = baseDocs.Select((d, i) => (Doc: d, Name: Name(baseNames, i, "base")))
            .Concat(currentDocs.Select((d, i) => (Doc: d, Name: Name(currentNames, i, "current"))))
            .ToList();
        var differences = new List<FingerprintDifference>();
        var notChecked = new List<string>();
        if (runs.Count == 0)
        {
            return new ComparabilityVerdict([], []);
        }

        (ResultDocument reference, string referenceName) = runs[0];
        foreach ((ResultDocument doc, string name) in runs.Skip(1))
        {
            foreach (FingerprintDifference d in Differences(reference, doc, $"{referenceName} vs {name}", notChecked))
            {
                if (!differences.Any(x => x.Field == d.Field && x.Base == d.Base && x.Current == d.Current))
                {
                    differences.Add(d);
                }
            }
        }

        return new ComparabilityVerdict(differences, notChecked.Distinct().ToList());
    }

    /// <summary>Every field on which <paramref name="current"/> differs from <paramref name="baseline"/>.</summary>
    public static IReadOnlyList<FingerprintDifference> Differences(ResultDocument baseline, ResultDocument current, string where = "base vs current", List<string>? notChecked = null)
    {
        var list = new List<FingerprintDifference>();
        void Add(string field, string? a, string? b, DifferenceArea area)
        {
            if (a is not null && b is not null && a != b)
            {
                list.Add(new FingerprintDifference(field, a, b, area, where));
            }
        }

        HardwareDifferences(baseline.Hardware, current.Hardware, Add, where, notChecked);
        Add("harness release", Release(baseline.HarnessVersion), Release(current.HarnessVersion), DifferenceArea.Runtime);
        if (Release(baseline.HarnessVersion) == Release(current.HarnessVersion))
        {
            Add("harness build", baseline.HarnessVersion, current.HarnessVersion, DifferenceArea.Harmless);
        }

        Add(ConfigKeys.Backend, baseline.Backend, current.Backend, DifferenceArea.Workload);
        Add(ConfigKeys.Scenario, baseline.Scenario, current.Scenario, DifferenceArea.Workload);
        foreach (string key in baseline.Config.Keys.Intersect(current.Config.Keys).Order(StringComparer.Ordinal))
        {
            if (Unlisted.Contains(key) || key == ConfigKeys.Scenario)
            {
                continue;
            }

            Add($"config {key}", Json(baseline.Config[key]), Json(current.Config[key]), HarmlessConfig.Contains(key) ? DifferenceArea.Harmless : DifferenceArea.Workload);
        }

        return list;
    }

    /// <summary>
    /// The hardware and runtime a run's speed depends on, as one string: two runs with the same key
    /// may be judged together (a fleet's groups). Null when the run recorded no hardware.
    /// </summary>
    public static string? SpeedKey(ResultDocument doc)
    {
        if (doc.Hardware is not { } hw)
        {
            return null;
        }

        var parts = new List<string?>
        {
            hw.Cpu.Vendor, hw.Cpu.Model, $"{hw.Cpu.Family}/{hw.Cpu.ModelNumber}/{hw.Cpu.Stepping}",
            string.Join(' ', hw.Cpu.Features.Intersect(HardwareProbe.LegacyCheckedFeatures).Order(StringComparer.Ordinal)),
            hw.Cpu.LogicalCores.ToString(CultureInfo.InvariantCulture),
            Math.Round(hw.MemoryBytes / (double)(1L << 30)).ToString(CultureInfo.InvariantCulture),
            hw.CudaDriver, Release(doc.HarnessVersion),
        };
        parts.AddRange(hw.Packages.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
        parts.AddRange(hw.Gpus.Select(g => $"{g.Name}|{g.MemoryBytes >> 30}|{g.Driver}|{g.PowerLimitW}|{g.MaxSmClockMhz}|{g.ApplicationSmClockMhz}|{g.MigMode}"));
        return string.Join(";", parts);
    }

    /// <summary>A short name of the hardware a run used: "NVIDIA H100 80GB HBM3 x8" or "AMD EPYC, 2 cores, avx512f".</summary>
    public static string Describe(HardwareFingerprint? hw)
    {
        if (hw is null)
        {
            return "hardware not recorded";
        }

        if (hw.Gpus.Count > 0)
        {
            return hw.Gpus.Count == 1 ? hw.Gpus[0].Name : $"{hw.Gpus[0].Name} x{hw.Gpus.Count}";
        }

        string isa = hw.Cpu.Features.Contains("avx512f") ? "avx512f" : hw.Cpu.Features.Contains("avx2") ? "avx2" : hw.Cpu.Features.FirstOrDefault() ?? "no recorded ISA";
        return string.Create(CultureInfo.InvariantCulture, $"{hw.Cpu.Model}, {hw.Cpu.LogicalCores} cores, {isa}");
    }

    private static void HardwareDifferences(HardwareFingerprint? a, HardwareFingerprint? b, Action<string, string?, string?, DifferenceArea> add, string where, List<string>? notChecked)
    {
        if (a is null || b is null)
        {
            if (a is not null || b is not null)
            {
                notChecked?.Add($"hardware not recorded in one run ({where}): the machines could not be compared");
            }

            return;
        }

        var c = CultureInfo.InvariantCulture;
        add("cpu vendor", a.Cpu.Vendor, b.Cpu.Vendor, DifferenceArea.Hardware);
        add("cpu family", a.Cpu.Family?.ToString(c), b.Cpu.Family?.ToString(c), DifferenceArea.Hardware);
        add("cpu model number", a.Cpu.ModelNumber?.ToString(c), b.Cpu.ModelNumber?.ToString(c), DifferenceArea.Hardware);
        add("cpu stepping", a.Cpu.Stepping?.ToString(c), b.Cpu.Stepping?.ToString(c), DifferenceArea.Hardware);
        add("cpu model", a.Cpu.Model, b.Cpu.Model, DifferenceArea.Hardware);
        var checkedBoth = (a.Cpu.CheckedFeatures ?? HardwareProbe.LegacyCheckedFeatures)
            .Intersect(b.Cpu.CheckedFeatures ?? HardwareProbe.LegacyCheckedFeatures, StringComparer.Ordinal).ToHashSet(StringComparer.Ordinal);
        var fa = a.Cpu.Features.Where(checkedBoth.Contains).ToList();
        var fb = b.Cpu.Features.Where(checkedBoth.Contains).ToList();
        if (!fa.ToHashSet().SetEquals(fb))
        {
            var parts = new List<string>();
            if (fa.Except(fb).ToList() is { Count: > 0 } lost)
            {
                parts.Add("only in base: " + string.Join(", ", lost));
            }

            if (fb.Except(fa).ToList() is { Count: > 0 } gained)
            {
                parts.Add("only in current: " + string.Join(", ", gained));
            }

            add("cpu features", Features(fa), $"{Features(fb)} ({string.Join("; ", parts)})", DifferenceArea.Hardware);
        }

        add("cpu logical cores", a.Cpu.LogicalCores.ToString(c), b.Cpu.LogicalCores.ToString(c), DifferenceArea.Hardware);
        if (Math.Abs(a.MemoryBytes - b.MemoryBytes) > MemoryTolerance * Math.Max(a.MemoryBytes, b.MemoryBytes))
        {
            add("memory", Gib(a.MemoryBytes), Gib(b.MemoryBytes), DifferenceArea.Hardware);
        }

        add("gpu count", a.Gpus.Count.ToString(c), b.Gpus.Count.ToString(c), DifferenceArea.Hardware);
        foreach ((GpuInfo ga, GpuInfo gb) in a.Gpus.Zip(b.Gpus))
        {
            string g = $"gpu {ga.Index}";
            add($"{g} name", ga.Name, gb.Name, DifferenceArea.Hardware);
            if (Math.Abs(ga.MemoryBytes - gb.MemoryBytes) > 0.01 * Math.Max(ga.MemoryBytes, gb.MemoryBytes))
            {
                add($"{g} memory", Gib(ga.MemoryBytes), Gib(gb.MemoryBytes), DifferenceArea.Hardware);
            }

            add($"{g} driver", ga.Driver, gb.Driver, DifferenceArea.Runtime);
            add($"{g} power limit", Watts(ga.PowerLimitW), Watts(gb.PowerLimitW), DifferenceArea.Hardware);
            add($"{g} max SM clock", Mhz(ga.MaxSmClockMhz), Mhz(gb.MaxSmClockMhz), DifferenceArea.Hardware);
            add($"{g} max memory clock", Mhz(ga.MaxMemoryClockMhz), Mhz(gb.MaxMemoryClockMhz), DifferenceArea.Hardware);
            add($"{g} application SM clock", Mhz(ga.ApplicationSmClockMhz), Mhz(gb.ApplicationSmClockMhz), DifferenceArea.Hardware);
            add($"{g} application memory clock", Mhz(ga.ApplicationMemoryClockMhz), Mhz(gb.ApplicationMemoryClockMhz), DifferenceArea.Hardware);
            add($"{g} MIG mode", ga.MigMode, gb.MigMode, DifferenceArea.Hardware);
        }

        add("CUDA driver", a.CudaDriver, b.CudaDriver, DifferenceArea.Runtime);
        foreach (string package in a.Packages.Keys.Intersect(b.Packages.Keys).Order(StringComparer.Ordinal))
        {
            add(package, a.Packages[package] ?? "(not loaded)", b.Packages[package] ?? "(not loaded)", DifferenceArea.Runtime);
        }

        add("cpu microcode", a.Cpu.Microcode, b.Cpu.Microcode, DifferenceArea.Harmless);
        add("hostname", a.Hostname, b.Hostname, DifferenceArea.Harmless);
        add("kernel", a.Kernel, b.Kernel, DifferenceArea.Harmless);
        add("os", a.Os, b.Os, DifferenceArea.Harmless);
        add("glibc", a.Glibc, b.Glibc, DifferenceArea.Harmless);
        add(".NET", a.Dotnet, b.Dotnet, DifferenceArea.Harmless);
    }

    /// <summary>"1.0.0" of "1.0.0+b202d11": the release, without the commit the build came from.</summary>
    public static string Release(string harnessVersion)
    {
        int plus = harnessVersion.IndexOf('+');
        return plus < 0 ? harnessVersion : harnessVersion[..plus];
    }

    private static string Features(List<string> features) => features.Count == 0 ? "(none)" : string.Join(", ", features);

    private static string Gib(long bytes) => (bytes / (double)(1L << 30)).ToString("0.#", CultureInfo.InvariantCulture) + " GiB";

    private static string? Watts(double? w) => w is { } x ? x.ToString("0.#", CultureInfo.InvariantCulture) + " W" : null;

    private static string? Mhz(double? mhz) => mhz is { } x ? x.ToString("0", CultureInfo.InvariantCulture) + " MHz" : null;

    /// <summary>A config value as compact JSON, the same whether it came from memory or from a file.</summary>
    private static string Json(object? value) =>
        DocumentValues.AsElement(value) is { } e ? JsonNode.Parse(e.GetRawText())?.ToJsonString() ?? "null" : "null";

    private static string Name(IReadOnlyList<string>? names, int i, string side) => names is not null && i < names.Count ? names[i] : $"{side} #{i + 1}";
}
