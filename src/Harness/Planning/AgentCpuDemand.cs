using Harness.Agents.Reporting;

namespace Harness.Planning;

/// <summary>The CPU side of an agent workload, for fleet sizing: the answer of an agents sweep.</summary>
public static class AgentCpuDemand
{
    public const string MetricName = "cores_per_gpu_for_90pct_busy";

    /// <summary>
    /// CPU cores per GPU that keep the GPU 90% busy, from an agents sweep (its document, or its folder);
    /// bad input when the sweep found none.
    /// </summary>
    public static double CoresPerGpu(string path)
    {
        AgentSweepDocument sweep = AgentSweepJson.Read(path);
        return sweep.CoresPerGpuFor90pctBusy
            ?? throw HarnessException.BadInput($"The agents sweep '{path}' has no {MetricName} ({sweep.CoresPerGpuBasis}: {sweep.CoresPerGpuNote}); sweep more workers or use a latency-model LLM so that it can project one.");
    }
}
