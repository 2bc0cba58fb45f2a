using Harness.Engine;

namespace Harness.Backends;

/// <summary>
/// One native runtime (ONNX Runtime, TorchSharp...) and the workloads it runs. Each lives in its own
/// assembly; the CLI composes them into a <see cref="BackendRegistry"/>.
/// </summary>
public interface IBackendProvider
{
    /// <summary>The runtime part of a backend spec, e.g. "onnx".</summary>
    string Runtime { get; }

    /// <summary>Devices this runtime can target, e.g. "cpu", "cuda".</summary>
    IReadOnlyList<string> Devices { get; }

    IReadOnlyList<WorkloadInfo> Workloads { get; }

    /// <summary>Package name and version of the native runtime, for the hardware fingerprint; null version when it cannot load.</summary>
    KeyValuePair<string, string?> PackageVersion { get; }

    /// <summary>Whether a device is usable here, and if not, one sentence saying what to do.</summary>
    DoctorCheck CheckDevice(string device);

    /// <summary>Checks of the native pieces for <c>harness doctor</c>.</summary>
    IReadOnlyList<DoctorCheck> Diagnose();

    /// <summary>Creates a workload; throws <see cref="HarnessException"/> on bad options or an unusable device.</summary>
    IWorkload Create(string workload, BackendSpec backend, WorkloadOptions options);
}

/// <summary>A workload as <c>harness list</c> shows it, and the <c>--set</c> keys it declares (none unless given).</summary>
public sealed record WorkloadInfo(string Name, string Description)
{
    public SettingsSchema Settings { get; init; } = SettingsSchema.None;
}

/// <summary>One line of <c>harness doctor</c>: what was checked, whether it works, and what to do if not.</summary>
public sealed record DoctorCheck(string Name, bool Ok, string Detail);
