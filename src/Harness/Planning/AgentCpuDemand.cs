using Harness.Results;

namespace Harness.Planning;

/// <summary>The CPU side of an agent workload, read from an agent result for fleet sizing.</summary>
public static class AgentCpuDemand
{
    public const string MetricName = "cores_per_gpu_for_90pct_busy";

    /// <summary>CPU cores per GPU that keep the GPU 90% busy (metrics extra, or config); bad input when the result lacks it.</summary>
    public static double CoresPerGpu(ResultDocument doc, string origin) =>
        DocumentValues.ExtraNumber(doc.Metrics, MetricName) ?? DocumentValues.FirstNumber(doc.Config, MetricName)
        ?? throw HarnessException.BadInput($"Agent result {origin} has no {MetricName}; run an agent workload that reports it.");
}
