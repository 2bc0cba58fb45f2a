using System.CommandLine;
using Harness.Gate;
using Harness.Reports;
using Harness.Results;
using Harness.Telemetry;
using Harness.Trust.Comparability;

namespace Harness.Cli.Commands;

/// <summary>The gate's options and outputs, shared by <c>compare</c> and <c>ab</c>.</summary>
internal sealed class GateOptionSet
{
    public Option<string[]> Threshold { get; } = new("--threshold", "-t")
    {
        Description = $"METRIC=PCT (repeatable), or PCT for every metric; default {GateOptions.DefaultThresholdPct}%. Metrics: {GateMetric.KnownNames}.",
    };

    public Option<double> Alpha { get; } = new("--alpha") { Description = "One-sided significance level of each metric's test.", DefaultValueFactory = _ => 0.05 };

    public Option<string?> Metrics { get; } = new("--metrics") { Description = "Comma-separated metrics to compare (default: latency_p50, latency_p90, latency_p99, and throughput when runs were repeated)." };

    public Option<double> NoiseFloor { get; } = new("--noise-floor-ms") { Description = "Latency differences below this many milliseconds never count as a regression.", DefaultValueFactory = _ => 0.01 };

    public Option<string?> Markdown { get; } = new("--markdown") { Description = "Also write the comparison as Markdown (for a pull-request comment) to this file." };

    public Option<string?> JUnit { get; } = new("--junit") { Description = "Also write the comparison as JUnit XML to this file." };

    public Option<string?> Html { get; } = new("--html") { Description = "Also write the comparison as a self-contained HTML page to this file: the verdict per metric with its interval, the fingerprint and disturbance differences, each run's level." };

    public Option<bool> AllowHardwareChange { get; } = new(ComparabilityRule.AllowHardwareFlag)
    {
        Description = "Compare runs whose CPU, GPU, memory, clocks, runtimes or harness release differ (otherwise exit 2 listing each difference); every view then says so at its top.",
    };

    public Option<bool> AllowConfigChange { get; } = new(ComparabilityRule.AllowConfigFlag)
    {
        Description = "Compare runs whose workload settings differ (model file, backend, scenario, batch, threads, dtype...); every view then says so at its top.",
    };

    public Option<bool> AllowNoisy { get; } = new("--allow-noisy")
    {
        Description = "A run disturbed beyond its limits (other processes, steal, GPU neighbours, thermal slowdown) is flagged instead of making the comparison inconclusive (exit 3).",
    };

    public Option<string[]> MaxInterference { get; } = new(DisturbanceLimits.Option)
    {
        Description = $"Limits for results that do not record their own quiet-host verdict (older files, judged from their CPU telemetry): {DisturbanceLimits.Syntax}.",
    };

    public Option<double> PlanCv { get; } = new("--plan-cv")
    {
        Description = "Run-to-run coefficient of variation assumed, only to say how many runs would resolve a change when the runs measured none (default 0.08: minilm on a 2-core VM).",
        DefaultValueFactory = _ => 0.08,
    };

    public void AddTo(Command command)
    {
        command.Add(Threshold);
        command.Add(Alpha);
        command.Add(Metrics);
        command.Add(NoiseFloor);
        command.Add(Markdown);
        command.Add(JUnit);
        command.Add(Html);
        command.Add(AllowHardwareChange);
        command.Add(AllowConfigChange);
        command.Add(AllowNoisy);
        command.Add(MaxInterference);
        command.Add(PlanCv);
    }

    public GateOptions Build(ParseResult parse)
    {
        (double? all, Dictionary<string, double> perMetric) = GateThresholds.Parse(parse.GetValue(Threshold) ?? []);
        return new GateOptions
        {
            Alpha = parse.GetValue(Alpha),
            DefaultThreshold = all ?? GateOptions.DefaultThresholdPct,
            Thresholds = perMetric,
            Metrics = parse.GetValue(Metrics) is { } m ? m.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null,
            NoiseFloorMs = parse.GetValue(NoiseFloor),
            AllowHardwareChange = parse.GetValue(AllowHardwareChange),
            AllowConfigChange = parse.GetValue(AllowConfigChange),
            AllowNoisy = parse.GetValue(AllowNoisy),
            Interference = DisturbanceLimits.Parse(parse.GetValue(MaxInterference) ?? []),
            PlanCv = parse.GetValue(PlanCv),
        }.Validated();
    }

    /// <summary>Prints the table, writes the optional Markdown, JUnit and HTML files, returns the verdict's exit code.</summary>
    public int Report(ParseResult parse, GateReport report, TextWriter output, string? heading = null)
    {
        if (heading is not null)
        {
            output.WriteLine(heading);
        }

        output.Write(GateTextReport.Render(report));
        if (parse.GetValue(Markdown) is { } md)
        {
            AtomicFile.WriteAllText(md, GateMarkdownReport.Render(report));
        }

        if (parse.GetValue(JUnit) is { } junit)
        {
            AtomicFile.WriteAllText(junit, GateJUnitReport.Render(report));
        }

        if (parse.GetValue(Html) is { } html)
        {
            AtomicFile.WriteAllText(html, GateView.Render(report));
        }

        return report.ExitCode;
    }
}
