using System.Globalization;
using Harness.Engine;
using Harness.Measurement;
using Harness.Validity;

namespace Harness.Decoding;

/// <summary>
/// When a run of <c>generate</c> over an endpoint is valid beyond the engine's own rules: some request
/// ended ok, the client's threads did not use so much CPU that the client may have been the
/// bottleneck, and requests were sent when they were due (the load generator kept up).
/// </summary>
internal static class EndpointConditions
{
    /// <summary>Client CPU above this many cores means the client, not the server, may have been the bottleneck.</summary>
    public const double MaxClientCores = 0.8;

    public static IReadOnlyList<ValidityCondition> Of(EngineResult run, IReadOnlyList<EndpointWorker> workers)
    {
        var list = new List<ValidityCondition>();
        long ok = run.Count(RequestOutcome.Ok);
        list.Add(new(ConditionNames.RequestsOk, ok > 0, ok > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{ok} of {run.TotalRequests} requests ended ok")
            : $"every one of the {run.TotalRequests} requests failed: nothing was measured"));

        double window = run.WindowSeconds;
        double cpu = EndpointWorker.CpuSeconds(workers);
        double cores = window > 0 ? cpu / window : 0;
        list.Add(new(ConditionNames.ClientCpu, cores <= MaxClientCores, string.Create(CultureInfo.InvariantCulture,
            $"the client's threads used {cores:0.###} cores over the window; above {MaxClientCores} the client may be the bottleneck")));

        SampleRecorder lag = SampleRecorder.Merge(run.Frequency, workers.Select(w => w.SendLag));
        if (lag.Count > 0)
        {
            double p99 = lag.ValueAtPercentile(0.99) * 1000.0 / run.Frequency;
            double gap = window * 1000.0 / Math.Max(1, run.TotalRequests);
            double limit = Math.Max(2.0, 0.05 * gap);
            list.Add(new(ConditionNames.SendLag, p99 <= limit, string.Create(CultureInfo.InvariantCulture,
                $"requests were sent p99 {p99:0.###} ms after they were due; at most max(2 ms, 5% of the mean gap "
                + $"between arrivals {gap:0.###} ms) = {limit:0.###} ms")));
        }

        return list;
    }
}
