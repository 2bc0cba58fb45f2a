using Harness.Telemetry;
using static System.FormattableString;

namespace Harness.Trust.Disturbance;

/// <summary>
/// The quiet-host rule (issue 18): a run whose machine was busy with other work is not evidence
/// about the code. Judges the measured disturbance against the limits, names each cause, and writes
/// the verdict into the disturbance section.
/// </summary>
public static class DisturbanceJudge
{
    /// <summary>
    /// Fills the host figures from the CPU counters (<see cref="HostDisturbance"/>), then
    /// <see cref="DisturbanceReport.Limits"/>, <see cref="DisturbanceReport.Disturbed"/>, causes and the noisy flag.
    /// </summary>
    public static void Apply(DisturbanceReport? report, DisturbanceLimits limits, double windowSeconds)
    {
        if (report is null)
        {
            return;
        }

        HostDisturbance.Analyze(report);
        report.Limits = limits;
        report.Causes = Causes(report, limits, windowSeconds).ToList();
        report.Disturbed = report.Causes.Count > 0;
        report.AllowedNoisy = report.Causes.Count > 0 && limits.AllowNoisy;
    }

    /// <summary>A sentence for each figure over its limit.</summary>
    public static IEnumerable<string> Causes(DisturbanceReport d, DisturbanceLimits limits, double windowSeconds)
    {
        if (d.OtherProcessesCores is { } cores && cores > limits.MaxOtherCores)
        {
            string server = d.ServerProcessCores is { } s ? Invariant($" (the server under test's {s:0.##} cores not counted)") : "";
            yield return OtherProcesses(cores, d.OtherProcessesShare, limits.MaxOtherCores) + server;
        }

        if (d.StealShare is { } steal && steal > limits.MaxStealShare)
        {
            yield return Invariant($"the hypervisor stole {steal:0.0%} of the CPU time ({d.StealCores ?? 0:0.##} cores; at most {limits.MaxStealShare:0.#%} allowed)");
        }

        foreach (GpuDisturbance g in d.Gpus)
        {
            if (g.OtherProcesses is { } others && others > limits.MaxGpuNeighbours)
            {
                string pids = g.OtherPids.Count > 0 ? $" (PID {string.Join(", ", g.OtherPids)})" : "";
                string own = g.OwnProcessSeen == false ? "; NVML did not list this run's PID, so one of them may be this run in another PID namespace" : "";
                yield return Invariant($"{others} other process(es) ran on GPU {g.Index}{pids}; at most {limits.MaxGpuNeighbours} allowed{own}");
            }

            if (g.HardwareThrottleS is { } s && windowSeconds > 0 && s / windowSeconds > limits.MaxHardwareThrottleShare)
            {
                yield return Invariant($"GPU {g.Index} was in thermal or hardware slowdown for {s:0.##} s ({s / windowSeconds:0.#%} of the window; at most {limits.MaxHardwareThrottleShare:0.#%} allowed)");
            }
        }
    }

    /// <summary>"other processes used 1.02 cores (51% of the machine) during the window (at most 0.1 allowed)".</summary>
    public static string OtherProcesses(double cores, double? share, double limit) =>
        Invariant($"other processes used {cores:0.##} cores{(share is { } s ? Invariant($" ({s:0%} of the machine)") : "")} during the window (at most {limit:0.###} allowed)");
}
