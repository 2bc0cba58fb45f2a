using System.Globalization;
using Harness.Gate;
using Harness.Results;
using Harness.Testing;
using Xunit.Abstractions;

namespace Harness.Tests.Gate;

/// <summary>
/// The gate's verdicts on synthetic results. The default sample sizes are those of a default CI
/// job: <c>harness run --repeat 5</c>, each run keeping about 400 requests (pooled: 2,000 per side),
/// per-request latency log-normal with a 15% spread, and 2% run-to-run drift shared by a run's
/// latency and throughput (a shared runner's noise).
/// </summary>
public class RegressionGateTests(ITestOutputHelper output)
{
    private const int Trials = 200;
    private static readonly GateOptions Defaults = new();

    [Fact]
    public void Finds_a_planted_15_percent_regression_at_least_95_percent_of_the_time()
    {
        int found = 0, p50 = 0, p99 = 0, throughput = 0;
        for (int trial = 0; trial < Trials; trial++)
        {
            var rng = new Random(1000 + trial);
            GateReport report = RegressionGate.Compare(Side(rng, 1.0), Side(rng, 1.15), Defaults);
            found += report.Verdict == GateVerdict.Regression ? 1 : 0;
            p50 += Verdict(report, "latency_p50") == GateVerdict.Regression ? 1 : 0;
            p99 += Verdict(report, "latency_p99") == GateVerdict.Regression ? 1 : 0;
            throughput += Verdict(report, "throughput") == GateVerdict.Regression ? 1 : 0;
        }

        string rates = $"gate {found}/{Trials}, latency_p50 {p50}, latency_p99 {p99}, throughput {throughput}";
        output.WriteLine("planted 15% regression found: " + rates);
        Assert.True(found >= 0.95 * Trials, rates);
        Assert.True(p50 >= 0.95 * Trials, rates);
    }

    [Fact]
    public void Raises_false_alarms_on_identical_distributions_no_more_often_than_alpha()
    {
        int alarms = 0, inconclusive = 0;
        for (int trial = 0; trial < Trials; trial++)
        {
            var rng = new Random(5000 + trial);
            GateReport report = RegressionGate.Compare(Side(rng, 1.0), Side(rng, 1.0), Defaults);
            alarms += report.Verdict == GateVerdict.Regression ? 1 : 0;
            inconclusive += report.Verdict == GateVerdict.Inconclusive ? 1 : 0;
        }

        output.WriteLine($"identical distributions: {alarms} false alarms, {inconclusive} inconclusive in {Trials} trials");
        Assert.True(alarms <= Defaults.Alpha * Trials, $"{alarms} false alarms in {Trials} trials (alpha {Defaults.Alpha}); {inconclusive} inconclusive");
    }

    [Fact]
    public void Too_few_samples_are_inconclusive_never_a_pass()
    {
        var rng = new Random(1);
        var b = new[] { SyntheticResults.Make(SyntheticResults.LogNormal(rng, 100, 20, 0.15)) };
        var c = new[] { SyntheticResults.Make(SyntheticResults.LogNormal(rng, 100, 20, 0.15)) };

        GateReport report = RegressionGate.Compare(b, c, Defaults);

        Assert.Equal(GateVerdict.Inconclusive, report.Verdict);
        Assert.Equal(ExitCodes.Inconclusive, report.ExitCode);
        MetricComparison p99 = report.Metrics.Single(m => m.Metric == "latency_p99");
        Assert.Equal(GateVerdict.Inconclusive, p99.Verdict);
        Assert.Contains("at least 459 per side", p99.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void With_one_run_per_side_throughput_is_left_out_and_the_report_says_so()
    {
        var rng = new Random(2);
        GateReport report = RegressionGate.Compare(
            [SyntheticResults.Make(SyntheticResults.LogNormal(rng, 2000, 20, 0.15))],
            [SyntheticResults.Make(SyntheticResults.LogNormal(rng, 2000, 20, 0.15))], Defaults);

        Assert.Equal(["latency_p50", "latency_p90", "latency_p99"], report.Metrics.Select(m => m.Metric));
        Assert.Contains(report.Notes, n => n.StartsWith("throughput was not compared", StringComparison.Ordinal));
        Assert.Equal(GateVerdict.Pass, report.Verdict);
    }

    [Fact]
    public void Asking_for_a_run_level_metric_with_one_run_per_side_is_inconclusive()
    {
        var rng = new Random(3);
        var options = Defaults with { Thresholds = new Dictionary<string, double> { ["throughput"] = 5 } };

        GateReport report = RegressionGate.Compare(
            [SyntheticResults.Make(SyntheticResults.LogNormal(rng, 2000, 20, 0.15))],
            [SyntheticResults.Make(SyntheticResults.LogNormal(rng, 2000, 20, 0.15))], options);

        MetricComparison t = report.Metrics.Single(m => m.Metric == "throughput");
        Assert.Equal(GateVerdict.Inconclusive, t.Verdict);
        Assert.Contains("too few runs", t.Reason, StringComparison.Ordinal);
        Assert.Equal(5, t.ThresholdPct);
    }

    [Fact]
    public void A_significant_change_within_the_threshold_passes()
    {
        var rng = new Random(4);
        GateReport report = RegressionGate.Compare(
            [SyntheticResults.Make(SyntheticResults.LogNormal(rng, 20_000, 20, 0.15))],
            [SyntheticResults.Make(SyntheticResults.LogNormal(rng, 20_000, 21, 0.15))], Defaults);

        MetricComparison p50 = report.Metrics.Single(m => m.Metric == "latency_p50");
        Assert.Equal(GateVerdict.Pass, p50.Verdict);
        Assert.True(p50.PValue < 0.05);
        Assert.Contains("within the 10% threshold", p50.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tighter_threshold_turns_the_same_change_into_a_regression()
    {
        var rng = new Random(4);
        var options = Defaults with { Thresholds = new Dictionary<string, double> { ["latency_p50"] = 2 } };
        GateReport report = RegressionGate.Compare(
            [SyntheticResults.Make(SyntheticResults.LogNormal(rng, 20_000, 20, 0.15))],
            [SyntheticResults.Make(SyntheticResults.LogNormal(rng, 20_000, 21, 0.15))], options);

        Assert.Equal(GateVerdict.Regression, report.Metrics.Single(m => m.Metric == "latency_p50").Verdict);
        Assert.Equal(ExitCodes.Regression, report.ExitCode);
    }

    [Fact]
    public void Differences_under_the_noise_floor_are_not_regressions()
    {
        var rng = new Random(5);
        GateReport report = RegressionGate.Compare(
            [SyntheticResults.Make(SyntheticResults.LogNormal(rng, 5000, 0.020, 0.05))],
            [SyntheticResults.Make(SyntheticResults.LogNormal(rng, 5000, 0.025, 0.05))], Defaults);

        MetricComparison p50 = report.Metrics.Single(m => m.Metric == "latency_p50");
        Assert.True(p50.ChangePct > 20);
        Assert.Equal(GateVerdict.Pass, p50.Verdict);
        Assert.Contains("noise floor", p50.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_large_faster_change_is_an_improvement()
    {
        var rng = new Random(6);
        GateReport report = RegressionGate.Compare(Side(rng, 1.0), Side(rng, 0.7), Defaults);

        Assert.All(report.Metrics, m => Assert.Equal(GateVerdict.Improvement, m.Verdict));
        Assert.Equal(ExitCodes.Ok, report.ExitCode);
    }

    [Fact]
    public void A_large_change_the_runs_cannot_confirm_is_inconclusive()
    {
        double[] samples = SyntheticResults.LogNormal(new Random(7), 2000, 20, 0.15);
        var b = new[] { 100.0, 60, 140, 90, 110 }.Select(t => SyntheticResults.Make(samples, t)).ToList();
        var c = new[] { 80.0, 50, 130, 70, 95 }.Select(t => SyntheticResults.Make(samples, t)).ToList();

        GateReport report = RegressionGate.Compare(b, c, Defaults with { Metrics = ["throughput"] });

        MetricComparison t = report.Metrics.Single();
        Assert.Equal(-20, t.ChangePct!.Value, 6);
        Assert.Equal(0.2017, t.PValue!.Value, 3); // Mann-Whitney, reference computed independently
        Assert.Equal(GateVerdict.Inconclusive, t.Verdict);
        Assert.Contains("not significant", t.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Results_of_different_workloads_are_bad_input()
    {
        double[] s = [1, 2, 3];
        var e = Assert.Throws<HarnessException>(() => RegressionGate.Compare(
            [SyntheticResults.Make(s, workload: "resnet18")], [SyntheticResults.Make(s, workload: "minilm")], Defaults));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal("The results are of different workloads (base: resnet18; current: minilm); compare runs of the same workload.", e.Message);
    }

    [Fact]
    public void A_file_of_a_newer_schema_version_is_refused_by_name()
    {
        using var dir = new SyntheticResults.TempFolder();
        double[] s = [1, 2, 3];
        string a = SyntheticResults.Write(dir.Path, "a.json", SyntheticResults.Make(s));
        string b = SyntheticResults.Write(dir.Path, "b.json", SyntheticResults.Make(s));
        File.WriteAllText(b, File.ReadAllText(b).Replace("\"schema_version\": 1", "\"schema_version\": 2", StringComparison.Ordinal));

        var e = Assert.Throws<HarnessException>(() => RegressionGate.CompareFiles(a, b, Defaults));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal($"Result file '{b}' has schema version 2, newer than this harness reads (up to 1); read it with the harness that wrote it (test) or a newer one.", e.Message);
    }

    [Theory]
    [InlineData("latency_p99=5ms", "is not a percentage")]
    [InlineData("latency_p99=abc", "is not a percentage")]
    [InlineData("latency_p99=-5%", "is not a percentage")]
    [InlineData("latency_p99=0%", "above 0%")]
    [InlineData("latency_p98=5%", "unknown metric 'latency_p98'")]
    [InlineData("=5%", "unknown metric ''")]
    public void Bad_thresholds_are_one_sentence_of_bad_input(string text, string mentions)
    {
        var e = Assert.Throws<HarnessException>(() => GateThresholds.Parse([text]));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(mentions, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Thresholds_parse_per_metric_and_for_all()
    {
        (double? all, Dictionary<string, double> per) = GateThresholds.Parse(["latency_p99=5%", "7.5", "THROUGHPUT=3"]);

        Assert.Equal(7.5, all);
        Assert.Equal(5, per["latency_p99"]);
        Assert.Equal(3, per["throughput"]);
    }

    [Fact]
    public void Unknown_metrics_and_a_bad_alpha_are_bad_input()
    {
        double[] s = [1, 2, 3];
        var docs = new[] { SyntheticResults.Make(s) };

        var unknown = Assert.Throws<HarnessException>(() => RegressionGate.Compare(docs, docs, Defaults with { Metrics = ["p99"] }));
        var alpha = Assert.Throws<HarnessException>(() => RegressionGate.Compare(docs, docs, Defaults with { Alpha = 0 }));

        Assert.StartsWith("Unknown metric 'p99'; known metrics: latency_p50", unknown.Message, StringComparison.Ordinal);
        Assert.StartsWith("--alpha 0 must lie in (0, 0.5]", alpha.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reports_render_as_text_markdown_and_junit()
    {
        var rng = new Random(9);
        GateReport report = RegressionGate.Compare(Side(rng, 1.0), Side(rng, 1.3), Defaults with { Metrics = ["latency_p50", "latency_p999", "throughput"] });

        string text = GateTextReport.Render(report);
        string md = GateMarkdownReport.Render(report);
        var junit = System.Xml.Linq.XDocument.Parse(GateJUnitReport.Render(report));

        Assert.StartsWith("harness compare: REGRESSION", text, StringComparison.Ordinal);
        Assert.Contains("latency_p999", text, StringComparison.Ordinal);
        Assert.Contains("| metric | base | current | change | 90% CI |", md, StringComparison.Ordinal);
        Assert.Contains("**inconclusive**", md, StringComparison.Ordinal); // p99.9 needs 4,603 samples per side
        var cases = junit.Descendants("testcase").ToList();
        Assert.Equal(3, cases.Count);
        Assert.Equal("2", junit.Root!.Attribute("failures")!.Value);
        Assert.Equal("1", junit.Root!.Attribute("skipped")!.Value);
        Assert.NotNull(cases.Single(c => c.Attribute("name")!.Value == "latency_p999").Element("skipped"));
        Assert.Equal("regression", cases.Single(c => c.Attribute("name")!.Value == "throughput").Element("failure")!.Attribute("type")!.Value);
    }

    private static GateVerdict? Verdict(GateReport report, string metric) =>
        report.Metrics.FirstOrDefault(m => m.Metric == metric)?.Verdict;

    /// <summary>Five runs of 400 requests; <paramref name="slowdown"/> scales latency and divides throughput.</summary>
    internal static List<ResultDocument> Side(Random rng, double slowdown, int runs = 5, int perRun = 400)
    {
        var docs = new List<ResultDocument>();
        for (int r = 0; r < runs; r++)
        {
            double drift = Math.Exp(0.02 * SyntheticResults.Gaussian(rng));
            double[] latencies = SyntheticResults.LogNormal(rng, perRun, 20 * slowdown * drift, 0.15);
            double throughput = 1000.0 / latencies.Average(); // one worker: requests per second
            docs.Add(SyntheticResults.Make(latencies, Math.Round(throughput, 4)));
        }

        return docs;
    }

    internal static string Invariant(double v) => v.ToString(CultureInfo.InvariantCulture);
}
