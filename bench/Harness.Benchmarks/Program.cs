using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Harness.Benchmarks;

// Usage: dotnet run -c Release --project bench/Harness.Benchmarks [-- [--short] [BenchmarkDotNet options]]
// Exit code 0: every benchmark ran and every target was met; 1 otherwise.
bool shortRun = args.Contains("--short");
string[] rest = args.Where(a => a != "--short").ToArray();
if (!rest.Any(a => a is "--filter" or "-f" or "--list" or "--info"))
{
    // Without a filter BenchmarkDotNet asks which benchmark to run; run them all instead.
    rest = [.. rest, "--filter", "*"];
}

Summary[] summaries = BenchmarkSwitcher.FromAssembly(typeof(HarnessBenchmarkConfig).Assembly)
    .Run(rest, HarnessBenchmarkConfig.Create(shortRun))
    .ToArray();

if (rest.Any(a => a is "--list" or "--info"))
{
    return 0;
}

var failures = new List<string>();
if (summaries.Length == 0 || summaries.All(s => s.Reports.Length == 0))
{
    failures.Add("No benchmark ran (check --filter).");
}

foreach (Summary summary in summaries)
{
    if (summary.HasCriticalValidationErrors)
    {
        failures.Add($"Critical validation errors in {summary.Title} (a Debug build? run with -c Release).");
    }

    failures.AddRange(summary.Reports
        .Where(r => !r.Success || r.ResultStatistics is null)
        .Select(r => $"{r.BenchmarkCase.DisplayInfo} failed."));
    failures.AddRange(PerformanceTargets.Check(summary, Console.Out));
}

foreach (string failure in failures)
{
    Console.Error.WriteLine($"bench: {failure}");
}

return failures.Count == 0 ? 0 : 1;
