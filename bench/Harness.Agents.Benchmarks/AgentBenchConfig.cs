using System.Collections.Concurrent;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Harness.Agents.Benchmarks;

/// <summary>
/// In-process (the measured figures are read back from statics by the columns), few long
/// iterations: one iteration of the threaded run is a whole agent run of a few seconds.
/// </summary>
public static class AgentBenchConfig
{
    public static IConfig Create() => ManualConfig.CreateMinimumViable()
        .AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithWarmupCount(1)
            .WithIterationCount(3)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithId("agents"))
        .AddExporter(JsonExporter.Full, MarkdownExporter.GitHub)
        .AddColumn(new MeasuredColumn("Overhead %", "(process CPU - tool CPU - LLM driver thread CPU) / tool CPU, %"), new MeasuredColumn("LLM driver %", "LLM driver thread CPU / tool CPU, %"), new MeasuredColumn("CPU util %", "process CPU / wall / cores, %"), new MeasuredColumn("ns/event", "coordinator cost per handled event"));
}

/// <summary>Figures a benchmark measured on its last iteration, shown as a column.</summary>
public sealed class MeasuredColumn(string name, string legend) : IColumn
{
    public static ConcurrentDictionary<(string Benchmark, string Column), double> Values { get; } = new();

    /// <summary>Method name and parameter values: what a benchmark can know about itself while it runs.</summary>
    public static string Key(string method, double parameter) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{method}|{parameter}");

    public string Id => "measured-" + name;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => legend;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        Values.TryGetValue((Key(benchmarkCase.Descriptor.WorkloadMethod.Name, Convert.ToDouble(benchmarkCase.Parameters.Items[0].Value, System.Globalization.CultureInfo.InvariantCulture)), name), out double v) ? v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) : "-";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public static void Record(string benchmark, string column, double value) => Values[(benchmark, column)] = value;
}
