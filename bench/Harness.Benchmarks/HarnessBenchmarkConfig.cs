using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Harness.Benchmarks;

/// <summary>The one BenchmarkDotNet configuration of this project, in its full and short (CI) forms.</summary>
public static class HarnessBenchmarkConfig
{
    /// <summary>Where reports go (relative to the working directory); git-ignored everywhere in the tree.</summary>
    public const string ArtifactsFolder = "BenchmarkDotNet.Artifacts";

    public static IConfig Create(bool shortRun)
    {
        Job job = shortRun
            // CI: 3 warm-up and 3 measured iterations, in this process (no generated project to build).
            ? Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("Short")
            // Full: BenchmarkDotNet's adaptive defaults (15-100 iterations) in a separate process.
            : Job.Default.WithId("Full");

        return DefaultConfig.Instance
            .AddJob(job)
            // Allocations per operation: the target is zero per recorded sample.
            .AddDiagnoser(MemoryDiagnoser.Default)
            // The targets are read from the median, which a noisy shared machine disturbs least.
            .AddColumn(StatisticColumn.Median, StatisticColumn.P95)
            // Machine-readable results for CI tooling, beside the default Markdown, CSV and HTML.
            .AddExporter(JsonExporter.Full)
            .WithArtifactsPath(Path.GetFullPath(ArtifactsFolder))
            .WithOptions(ConfigOptions.JoinSummary);
    }
}
