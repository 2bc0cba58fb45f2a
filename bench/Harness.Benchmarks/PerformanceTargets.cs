using BenchmarkDotNet.Reports;
using Harness.Benchmarks.Engine;
using Harness.Benchmarks.Measurement;

namespace Harness.Benchmarks;

/// <summary>
/// The issue's performance targets for the engine itself, checked against a summary: engine
/// overhead under 1 µs per request, and no allocation per recorded sample in the steady state.
/// </summary>
public static class PerformanceTargets
{
    public const double MaxEngineNanosecondsPerRequest = 1_000;

    /// <summary>Benchmarks that record one sample per operation and must not allocate.</summary>
    private static readonly string[] ZeroAllocation =
    [
        nameof(SampleRecorderBenchmarks.RecordSample),
        nameof(SampleRecorderBenchmarks.RecordRequest),
        nameof(SampleRecorderBenchmarks.MarkToken),
    ];

    /// <summary>Checks the targets of the benchmarks present in <paramref name="summary"/>; returns the misses as sentences.</summary>
    public static IReadOnlyList<string> Check(Summary summary, TextWriter output)
    {
        var misses = new List<string>();
        foreach (BenchmarkReport report in summary.Reports)
        {
            string method = report.BenchmarkCase.Descriptor.WorkloadMethod.Name;
            if (method is nameof(BenchmarkEngineBenchmarks.EngineIteration) or nameof(BenchmarkEngineBenchmarks.EngineIterationWithTailRule)
                && report.ResultStatistics is { } s)
            {
                bool ok = s.Median < MaxEngineNanosecondsPerRequest;
                output.WriteLine($"target: engine overhead {s.Median:0.0} ns per request (median), under {MaxEngineNanosecondsPerRequest:0} ns: {(ok ? "met" : "MISSED")}");
                if (!ok)
                {
                    misses.Add($"Engine overhead is {s.Median:0.0} ns per request; the target is under {MaxEngineNanosecondsPerRequest:0} ns.");
                }
            }

            if (ZeroAllocation.Contains(method))
            {
                long? bytes = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase);
                bool ok = bytes == 0;
                output.WriteLine($"target: {method} allocates {bytes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} B per recorded sample, zero: {(ok ? "met" : "MISSED")}");
                if (!ok)
                {
                    misses.Add($"{method} allocates {bytes} B per recorded sample; the target is zero.");
                }
            }
        }

        return misses;
    }
}
