using System.Globalization;
using Harness.Hardware;

namespace Harness.Telemetry;

/// <summary>Which measured parts did the run's work: the backend's GPU(s), or the CPU packages for a CPU backend.</summary>
/// <param name="GpuIndices">NVML indices of the GPUs the backend used.</param>
/// <param name="CpuPackage">The CPU packages did the work (a CPU backend).</param>
public sealed record EnergyScope(IReadOnlyList<int> GpuIndices, bool CpuPackage)
{
    public static EnergyScope Cpu { get; } = new([], true);

    /// <summary>
    /// The scope of a backend: a remote endpoint (<c>openai:URL</c>) is every GPU of this node, or the
    /// CPU packages where it has none; <c>cpu</c> is the CPU packages; any other device is GPU
    /// <paramref name="deviceId"/>, mapped through CUDA_VISIBLE_DEVICES (indices or GPU-/MIG- UUIDs)
    /// to NVML's numbering, which ignores that variable. The backend's parts come one by one, so that
    /// telemetry (the foundation) needs no backend type.
    /// </summary>
    public static EnergyScope ForBackend(bool remote, string device, int deviceId, IReadOnlyList<GpuInfo> gpus, string? cudaVisibleDevices)
    {
        if (remote)
        {
            // A server reached over the network: every GPU NVML sees on this node (a server elsewhere has none here).
            return new EnergyScope(gpus.Select(g => g.Index).ToList(), gpus.Count == 0);
        }

        if (device == "cpu")
        {
            return Cpu;
        }

        int index = deviceId;
        string[] visible = (cudaVisibleDevices ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (deviceId < visible.Length)
        {
            string token = visible[deviceId];
            if (int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out int physical))
            {
                index = physical;
            }
            else if (gpus.FirstOrDefault(g => g.Uuid is { } u && u.StartsWith(token, StringComparison.OrdinalIgnoreCase)) is { } match)
            {
                index = match.Index;
            }
        }

        return new EnergyScope([index], false);
    }
}

/// <summary>
/// Turns the per-device energies of a report into the run's energy and its energy per unit of work.
/// The run's energy covers the devices in the scope; the node's energy, every GPU plus the CPU
/// packages, only where package energy was readable.
/// </summary>
public static class EnergyAccounting
{
    public static void Apply(TelemetryReport report, EnergyScope scope, long outputUnits, string unit)
    {
        double window = report.WindowS ?? 0;
        var notes = new List<string>();
        var parts = new List<(string Name, double? Joules, string? Method, double? Peak)>();
        foreach (int index in scope.GpuIndices)
        {
            GpuTelemetry? gpu = report.Gpus.FirstOrDefault(g => g.Index == index);
            if (gpu is null)
            {
                notes.Add(report.GpuNote ?? $"GPU {index} was not seen by NVML");
            }

            parts.Add(($"gpu:{index}", gpu?.EnergyJ, gpu?.EnergyMethod, gpu?.PowerPeakW));
        }

        if (scope.CpuPackage)
        {
            if (report.Cpu?.PackageEnergyNote is { } why)
            {
                notes.Add(why);
            }

            parts.Add(("cpu_package", report.Cpu?.PackageEnergyJ, "counter", report.Cpu?.PackagePowerPeakW));
        }

        report.Energy = Summarize(parts, window, outputUnits, unit, null);
        if (report.Energy is null && notes.Count > 0 && report.Enabled)
        {
            report.Note = string.Join("; ", new[] { report.Note, "no energy for the run: " + string.Join("; ", notes.Distinct()) }.OfType<string>());
        }

        if (report.Cpu?.PackageEnergyJ is not null)
        {
            var node = report.Gpus.Select(g => ($"gpu:{g.Index}", g.EnergyJ, g.EnergyMethod, g.PowerPeakW))
                .Append(("cpu_package", report.Cpu.PackageEnergyJ, (string?)"counter", report.Cpu.PackagePowerPeakW))
                .ToList();
            report.NodeEnergy = Summarize(node, window, outputUnits, unit,
                "whole node as far as measured: every GPU through NVML plus the CPU packages through RAPL; memory outside the package, fans, disks, NICs and power-supply losses are not included");
        }
    }

    private static EnergySummary? Summarize(List<(string Name, double? Joules, string? Method, double? Peak)> parts, double window, long units, string unit, string? note)
    {
        if (parts.Count == 0 || parts.Any(p => p.Joules is null))
        {
            return null;
        }

        double joules = parts.Sum(p => p.Joules!.Value);
        if (window < 1)
        {
            note = string.Join(" ", new[] { note, "The window is shorter than 1 s and energy counters update every 20-100 ms, so this figure is coarse." }.OfType<string>());
        }

        return new EnergySummary
        {
            Parts = parts.Select(p => p.Name).ToList(),
            Method = string.Join("+", parts.Select(p => p.Method).Distinct()),
            EnergyJ = joules,
            AvgPowerW = window > 0 ? joules / window : null,
            PeakPowerW = parts.Count == 1 ? parts[0].Peak : null,
            Unit = unit,
            JoulesPerUnit = units > 0 ? joules / units : null,
            UnitsPerJoule = joules > 0 ? units / joules : null,
            Note = note,
        };
    }
}
