using System.CommandLine;
using Harness.Backends;
using Harness.Hardware;

namespace Harness.Cli.Commands;

/// <summary><c>harness doctor</c>: checks each native piece and says what to do when one fails.</summary>
public static class DoctorCommand
{
    public static Command Create(Lazy<BackendRegistry> registry, TextWriter output)
    {
        var command = new Command(
            "doctor",
            "Check NVML and each backend's native pieces (ONNX Runtime, CUDA, TorchSharp...); each failure comes with what to do. "
            + "Exit 0 when the CPU path works.");
        command.SetAction(_ =>
        {
            var checks = new List<DoctorCheck> { new("harness", true, AppInstall.Describe()) };
            foreach (IBackendProvider p in registry.Value.Providers)
            {
                checks.AddRange(p.Diagnose());
            }

            using (var nvml = new NvmlLibrary())
            {
                int gpus = nvml.ListGpus().Count;
                checks.Add(nvml.Available
                    ? new DoctorCheck("nvml", true, $"NVML loaded, {gpus} GPU(s)")
                    : new DoctorCheck("nvml", false, $"{nvml.UnavailableReason}; GPU telemetry will be absent (install the NVIDIA driver on GPU machines)."));
            }

            foreach (DoctorCheck c in checks)
            {
                output.WriteLine($"{(c.Ok ? "ok  " : "FAIL")} {c.Name,-12} {c.Detail}");
            }

            bool cpuOk = checks.Where(c => c.Name.EndsWith(":cpu", StringComparison.Ordinal)).All(c => c.Ok);
            return cpuOk ? ExitCodes.Ok : ExitCodes.Invalid;
        });
        return command;
    }
}
