using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Harness.Cost;
using Harness.Engine;
using Harness.Fleet;
using Harness.Gate;
using Harness.Hardware.Catalog;
using Harness.Metrics;
using Harness.Planning;
using Harness.Projection;
using Harness.Reports;
using Harness.Results;
using Harness.Telemetry;
using Harness.Testing;

namespace Harness.Tests.Reports;

/// <summary>Result sets for the report tests: a concurrency sweep, optionally with telemetry and MFU/MBU.</summary>
internal static class ReportInputs
{
    public static List<LoadedResult> ConcurrencySweep(bool telemetry = false, bool roofline = false, string workload = "resnet18")
    {
        var rng = new Random(21);
        var results = new List<LoadedResult>();
        foreach (int workers in new[] { 1, 2, 4 })
        {
            double[] latencies = SyntheticResults.LogNormal(rng, 800, 20 * (1 + 0.3 * (workers - 1)), 0.2);
            ResultDocument doc = SyntheticResults.Make(latencies, 1000.0 * workers / latencies.Average(), workload, $"concurrency:{workers}", workers);
            if (roofline)
            {
                doc.Metrics.Set(MetricCatalog.Mfu, 0.05 * workers);
                doc.Metrics.Set(MetricCatalog.Mbu, 0.5);
            }

            if (telemetry)
            {
                // The series as the harness writes them (columns beside t_s); gpu_util_pct is a column already in
                // percent. The 4-worker run shared the machine from 1 s to 2 s.
                double[] gpuT = Enumerable.Range(0, 50).Select(i => i * 0.1).ToArray();
                double[] cpuT = Enumerable.Range(1, 30).Select(i => i * 0.1).ToArray();
                doc.Telemetry = new TelemetryReport
                {
                    Enabled = true,
                    Gpus =
                    [
                        new GpuTelemetry
                        {
                            Series = new Harness.Telemetry.TelemetrySeries
                            {
                                TS = gpuT,
                                Columns =
                                {
                                    ["power_w"] = gpuT.Select((_, i) => (double?)(90 + (20 * workers) + (5 * Math.Sin(i / 3.0)))).ToArray(),
                                    ["gpu_util_pct"] = gpuT.Select(_ => (double?)(30 * workers)).ToArray(),
                                    ["temperature_c"] = gpuT.Select(_ => (double?)60).ToArray(),
                                },
                            },
                        },
                    ],
                    Cpu = new CpuTelemetry
                    {
                        Series = new Harness.Telemetry.TelemetrySeries
                        {
                            TS = cpuT,
                            Columns =
                            {
                                ["other_processes_cores"] = cpuT.Select((_, i) => (double?)(workers == 4 && i + 1 is > 10 and <= 20 ? 0.9 : 0.02)).ToArray(),
                            },
                        },
                    },
                };
            }

            var raw = (JsonObject)JsonNode.Parse(ResultJson.Serialize(doc))!;

            results.Add(new LoadedResult($"/results/concurrency-{workers}.json", doc, raw));
        }

        return results;
    }
}

/// <summary>
/// The committed inputs every view is tested on: the H200 Llama-1B decode runs in results/, and the
/// small files under tests/fixtures/report (each measured with the harness on a shared 2-core VM:
/// a rate sweep with an SLO, an agents sweep folder, two sides of a compare, a fleet folder).
/// </summary>
internal static class ReportFixtures
{
    public static string Folder(string name) => Path.Combine(Repository.Root, "tests", "fixtures", "report", name);

    /// <summary>The three H200 Llama-1B decode runs (batch 1, 16, 64), copied from results/ into the fixtures.</summary>
    public static List<LoadedResult> H200Decoders()
    {
        var files = ResultReader.FindUnder(Repository.ResultFixtures)
            .Where(f => Regex.IsMatch(Path.GetFileName(f), @"^torch-generate-llama-1b-b(1|16|64)\.json$"))
            .OrderBy(f => int.Parse(Regex.Match(Path.GetFileName(f), @"-b(\d+)\.json$").Groups[1].Value, CultureInfo.InvariantCulture))
            .ToList();
        Assert.Equal(3, files.Count);
        Assert.All(files, f => Assert.Contains("h200", f, StringComparison.OrdinalIgnoreCase));
        return files.Select(ResultReader.Read).ToList();
    }

    /// <summary>The offer the H200 runs are priced with: the catalog's AWS H200 instance.</summary>
    public static PriceOffer H200Offer() =>
        PriceSelection.Resolve("aws/p5en.48xlarge", null, null, new PriceAgePolicy(new DateOnly(2026, 11, 26)), HardwareCatalog.Default).Chosen!;

    public static ReportInput RateSweep() => ReportInput.Read([Folder("llm-rate-sweep")]);

    public static ReportInput AgentsSweep() => ReportInput.Read([Folder("agents-sweep")]);

    /// <summary>
    /// generate over openai:URL against <c>harness serve</c> (onnx:cpu tiny-llama-test, 4 slots) at
    /// concurrency 8 for 8 s, measured here: the server's running and waiting requests and KV-cache
    /// use over 10 scrapes (serving.server_metrics).
    /// </summary>
    public static LoadedResult Served() => ResultReader.Read(Path.Combine(Folder("serving"), "served.json"));

    public static GateReport Compare() =>
        RegressionGate.CompareFiles(Path.Combine(Folder("compare"), "base"), Path.Combine(Folder("compare"), "current"), new GateOptions { AllowConfigChange = true }.Validated());

    public static FleetSummary Fleet() =>
        FleetMerge.Merge(Folder("fleet"), new MergeOptions { K = 3, ExpectedTasks = 6 }.Validate());

    /// <summary>50,000 output tokens/s under TTFT and TPOT objectives, sized from the H200 batch-16 run.</summary>
    public static CapacityPlan Plan()
    {
        LoadedResult b16 = H200Decoders()[1];
        return CapacityPlanner.Plan(new PlanRequest
        {
            Workload = LlmResultReader.Read(b16.Document, b16.Path),
            Source = HardwareCatalog.Default.Get("h200"),
            TargetOutputTokensPerS = 50_000,
            Slos = ServiceLevelObjective.ParseList("ttft_p99<500ms,tpot_p99<50ms"),
            Cards = CapacityPlanner.DefaultCards.Select(HardwareCatalog.Default.Get).ToList(),
            Prices = PriceCatalog.Default,
            Policy = new PriceAgePolicy(new DateOnly(2026, 11, 26)),
            MaxBatch = 256,
        });
    }
}

/// <summary>The charts of a page as its HTML (or Chromium's DOM) holds them: kind, title, axis labels, series, rules, bands.</summary>
internal sealed record ChartInDom(string Id, string Title, string XLabel, string YLabel, string YAxisKind, IReadOnlyList<string> Series, IReadOnlyList<string> Rules, int Bands, string Svg)
{
    /// <summary>A value axis names its unit last, in parentheses: "latency (ms)", "busy (%) (log scale)".</summary>
    public static bool HasUnit(string label) => Regex.IsMatch(label, @"\([^()]+\)( \(log scale\))?$");

    public static List<ChartInDom> Parse(string html)
    {
        var charts = new List<ChartInDom>();
        foreach (Match m in Regex.Matches(html, "<svg[^>]*data-chart=\"([^\"]+)\"[^>]*>.*?</svg>", RegexOptions.Singleline))
        {
            string svg = m.Value;
            string Text(string pattern) => WebUtility.HtmlDecode(Regex.Match(svg, pattern, RegexOptions.Singleline).Groups[1].Value);
            List<string> All(string pattern) => Regex.Matches(svg, pattern).Select(x => WebUtility.HtmlDecode(x.Groups[1].Value)).ToList();
            charts.Add(new ChartInDom(
                m.Groups[1].Value,
                Text("<title>([^<]*)</title>"),
                Text("<text class=\"axis-label x\"[^>]*>([^<]*)</text>"),
                Text("<text class=\"axis-label y\"[^>]*>([^<]*)</text>"),
                Text("<text class=\"axis-label y\" data-axis=\"([a-z]+)\""),
                All("<g class=\"series\" data-series=\"([^\"]*)\""),
                All("<g class=\"rule\" data-rule=\"([^\"]*)\""),
                Regex.Matches(svg, "class=\"band ").Count,
                svg));
        }

        return charts;
    }
}
