namespace Harness.Trust.Comparability;

/// <summary>What a difference between two runs is about, and so which flag lets a comparison go on.</summary>
public enum DifferenceArea
{
    /// <summary>The machine: CPU identity and ISA, cores, memory, GPU, clocks, power limit, MIG (--allow-hardware-change).</summary>
    Hardware,

    /// <summary>The software under the workload: ONNX Runtime, TorchSharp, CUDA driver, GPU driver, the harness release (--allow-hardware-change).</summary>
    Runtime,

    /// <summary>The workload's own settings: model file, backend, scenario, batch, threads, dtype (--allow-config-change).</summary>
    Workload,

    /// <summary>Listed, never refused: hostname, kernel patch level, OS, .NET, the harness build, run length.</summary>
    Harmless,
}

/// <summary>One field on which two runs differ, as "field: base -> current".</summary>
/// <param name="Field">The field in words: "cpu features", "gpu 0 power limit", "config threads".</param>
/// <param name="Where">Which runs: "base #1 vs current #1", or two runs of one side.</param>
public sealed record FingerprintDifference(string Field, string Base, string Current, DifferenceArea Area, string Where)
{
    public bool MovesSpeed => Area != DifferenceArea.Harmless;

    /// <summary>The flag that lets a comparison with this difference go on; null for a harmless one.</summary>
    public string? AllowedBy => Area switch
    {
        DifferenceArea.Hardware or DifferenceArea.Runtime => ComparabilityRule.AllowHardwareFlag,
        DifferenceArea.Workload => ComparabilityRule.AllowConfigFlag,
        _ => null,
    };

    public override string ToString() => $"{Field}: {Base} -> {Current}";
}
