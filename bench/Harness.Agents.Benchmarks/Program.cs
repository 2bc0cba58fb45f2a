using BenchmarkDotNet.Running;
using Harness.Agents.Benchmarks;

// dotnet run -c Release --project bench/Harness.Agents.Benchmarks -- --filter '*'
var summary = BenchmarkSwitcher.FromAssembly(typeof(SchedulerBenchmarks).Assembly).Run(args, AgentBenchConfig.Create());
return summary.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
