using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Harness.OpenAI.Benchmarks;

// Usage:
//   dotnet run -c Release --project bench/Harness.OpenAI.Benchmarks [-- [--short] [BenchmarkDotNet options]]
//       the SSE parsing benchmark; exit 0 when every target is met (>= 200,000 events/s per core, <= 64 B per event)
//   dotnet run -c Release --project bench/Harness.OpenAI.Benchmarks -- serve [--port 8000] [--ttft-ms 20] [--tpot-ms 5]
//       a synthetic OpenAI-compatible server on 127.0.0.1 (vLLM's chunk shape and /metrics names) until Ctrl-C
if (args.Length > 0 && args[0] == "serve")
{
    return await Serve.Run(args[1..]);
}

bool shortRun = args.Contains("--short");
string[] rest = args.Where(a => a != "--short").ToArray();
if (!rest.Any(a => a is "--filter" or "-f" or "--list" or "--info"))
{
    rest = [.. rest, "--filter", "*"];
}

Job job = shortRun ? Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("Short") : Job.Default.WithId("Full");
IConfig config = DefaultConfig.Instance
    .AddJob(job)
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumn(StatisticColumn.Median, StatisticColumn.P95)
    .AddExporter(JsonExporter.Full)
    .WithArtifactsPath(Path.GetFullPath("BenchmarkDotNet.Artifacts"))
    .WithOptions(ConfigOptions.JoinSummary);
Summary[] summaries = BenchmarkSwitcher.FromAssembly(typeof(SseParseBenchmarks).Assembly).Run(rest, config).ToArray();
if (rest.Any(a => a is "--list" or "--info"))
{
    return 0;
}

var misses = new List<string>();
foreach (BenchmarkReport report in summaries.SelectMany(s => s.Reports))
{
    if (!report.Success || report.ResultStatistics is not { } stats)
    {
        misses.Add($"{report.BenchmarkCase.DisplayInfo} failed.");
        continue;
    }

    double eventsPerSecond = 1e9 / stats.Median;
    long? bytes = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase);
    string name = report.BenchmarkCase.DisplayInfo;
    Console.WriteLine($"target: {name}: {eventsPerSecond:N0} events/s per core (>= 200,000: {(eventsPerSecond >= 200_000 ? "met" : "MISSED")}), {bytes} B per event (<= 64: {(bytes <= 64 ? "met" : "MISSED")})");
    if (eventsPerSecond < 200_000)
    {
        misses.Add($"{name} parses {eventsPerSecond:N0} events/s per core; the target is at least 200,000.");
    }

    if (bytes is not (>= 0 and <= 64))
    {
        misses.Add($"{name} allocates {bytes} B per event; the target is at most 64.");
    }
}

if (summaries.Length == 0 || summaries.All(s => s.Reports.Length == 0))
{
    misses.Add("No benchmark ran (check --filter).");
}

foreach (string miss in misses)
{
    Console.Error.WriteLine($"bench: {miss}");
}

return misses.Count == 0 ? 0 : 1;
