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
    private static readonly GateOptions Defaults = new();

    [Fact]
    public void Five_runs_per_side_find_a_large_slowdown_in_every_metric()
    {
        var rng = new Random(1);
        GateReport report = RegressionGate.Compare(Side(rng, 1.0), Side(rng, 1.3), Defaults);
        output.WriteLine(GateTextReport.Render(report));

        Assert.Equal(GateVerdict.Regression, report.Verdict);
        Assert.All(report.Metrics, m => Assert.Equal(GateVerdict.Regression, m.Verdict));
        Assert.All(report.Metrics, m => Assert.Equal("Mann-Whitney U over runs", m.Test));
        Assert.All(report.Metrics, m => Assert.Equal((5, 5), (m.BaseSamples, m.CurrentSamples)));
        MetricComparison p50 = report.Metrics.Single(m => m.Metric == "latency_p50");
        Assert.Equal(1.0 / 252, p50.PValue!.Value, 9); // complete separation, exact
        Assert.InRange(p50.ChangePct!.Value, 20, 40);
        Assert.True(p50.CiLowPct < p50.ChangePct && p50.ChangePct < p50.CiHighPct);
    }

    [Fact]
    public void A_run_without_enough_requests_for_a_percentile_does_not_count_for_it()
    {
        var rng = new Random(1);
        var b = new[] { SyntheticResults.Make(SyntheticResults.LogNormal(rng, 100, 20, 0.15)) };
        var c = new[] { SyntheticResults.Make(SyntheticResults.LogNormal(rng, 100, 20, 0.15)) };

        GateReport report = RegressionGate.Compare(b, c, Defaults);

        Assert.Equal(ExitCodes.Inconclusive, report.ExitCode);
        MetricComparison p99 = report.Metrics.Single(m => m.Metric == "latency_p99");
        Assert.Equal(GateVerdict.Inconclusive, p99.Verdict);
        Assert.Contains("100 requests, 459 needed for its latency_p99", p99.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Three_runs_per_side_use_the_t_test_with_the_spread_of_both_sides()
    {
        var rng = new Random(2);
        GateReport report = RegressionGate.Compare(Side(rng, 1.0, runs: 3), Side(rng, 1.3, runs: 3), Defaults with { Metrics = ["latency_p50"] });

        MetricComparison p50 = report.Metrics.Single();
        Assert.Equal("t-test on log run values", p50.Test);
        Assert.StartsWith("run-to-run CV ", p50.Noise, StringComparison.Ordinal);
        Assert.Contains("the repeats of both sides (3 base, 3 current runs) (4 degrees of freedom)", p50.Noise, StringComparison.Ordinal);
        Assert.Equal(GateVerdict.Regression, p50.Verdict);
        Assert.NotNull(p50.SmallestDetectablePct);
    }

    [Fact]
    public void Too_few_runs_for_any_test_are_inconclusive_never_a_pass()
    {
        var rng = new Random(3);
        GateReport report = RegressionGate.Compare(Side(rng, 1.0, runs: 1), Side(rng, 1.0, runs: 1), Defaults);

        Assert.All(report.Metrics, m => Assert.Equal(GateVerdict.Inconclusive, m.Verdict));
        Assert.Equal(["latency_p50", "latency_p90", "latency_p99", "throughput"], report.Metrics.Select(m => m.Metric));
    }

    [Fact]
    public void A_significant_change_within_the_threshold_passes()
    {
        var rng = new Random(4);
        GateReport report = RegressionGate.Compare(Side(rng, 1.0, drift: 0.005), Side(rng, 1.05, drift: 0.005), Defaults with { Metrics = ["latency_p50"] });

        MetricComparison p50 = report.Metrics.Single();
        Assert.Equal(GateVerdict.Pass, p50.Verdict);
        Assert.True(p50.PValue < 0.05);
        Assert.Contains("within the 10% threshold", p50.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tighter_threshold_turns_the_same_change_into_a_regression()
    {
        var rng = new Random(4);
        var options = Defaults with { Metrics = ["latency_p50"], Thresholds = new Dictionary<string, double> { ["latency_p50"] = 2 } };
        GateReport report = RegressionGate.Compare(Side(rng, 1.0, drift: 0.005), Side(rng, 1.05, drift: 0.005), options);

        Assert.Equal(GateVerdict.Regression, report.Metrics.Single().Verdict);
        Assert.Equal(ExitCodes.Regression, report.ExitCode);
    }

    [Fact]
    public void Differences_under_the_noise_floor_are_not_regressions()
    {
        var rng = new Random(5);
        GateReport report = RegressionGate.Compare(
            SyntheticResults.Runs(rng, 5, 0.004, runCv: 0.01), SyntheticResults.Runs(rng, 5, 0.005, runCv: 0.01), Defaults with { Metrics = ["latency_p50"] });

        MetricComparison p50 = report.Metrics.Single();
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
    public void A_large_change_the_runs_cannot_confirm_is_inconclusive_and_says_how_many_runs_would()
    {
        double[] samples = SyntheticResults.LogNormal(new Random(7), 2000, 20, 0.15);
        var b = new[] { 100.0, 60, 140, 90, 110 }.Select(t => SyntheticResults.Make(samples, t)).ToList();
        var c = new[] { 80.0, 50, 130, 70, 95 }.Select(t => SyntheticResults.Make(samples, t)).ToList();

        GateReport report = RegressionGate.Compare(b, c, Defaults with { Metrics = ["throughput"] });

        MetricComparison t = report.Metrics.Single();
        Assert.Equal(GateVerdict.Inconclusive, t.Verdict);
        Assert.Contains("not significant", t.Reason, StringComparison.Ordinal);
        Assert.Matches(@"about \d+ runs per side would resolve a change of this size", t.Reason);
        Assert.Equal(53.0 / 252, t.PValue!.Value, 9); // exact Mann-Whitney: U = 8 pairs favour current, P(U <= 8) = 53/252
    }

    [Fact]
    public void Runs_report_their_own_block_bootstrap_interval_far_narrower_than_the_spread_between_runs()
    {
        var rng = new Random(8);
        List<ResultDocument> b = SyntheticResults.Runs(rng, 5, 7.3, keepSamples: true), c = SyntheticResults.Runs(rng, 5, 7.3, keepSamples: true);

        GateReport report = RegressionGate.Compare(b, c, Defaults);

        Assert.Equal(10, report.Runs.Count);
        Assert.All(report.Runs, r => Assert.True(r.P50Low < r.LatencyP50 && r.LatencyP50 < r.P50High || r.P50Low <= r.LatencyP50));
        Assert.Contains(report.Notes, n => n.StartsWith("Within a run, p50's interval is about ±", StringComparison.Ordinal) && n.Contains("The run, not the request, is the unit of evidence", StringComparison.Ordinal));
        Assert.Contains("runs (p50 with its own 90% block-bootstrap interval):", GateTextReport.Render(report), StringComparison.Ordinal);
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

        var unknown = Assert.Throws<HarnessException>(() => RegressionGate.Compare(docs, docs, Defaults with { Metrics = ["p98"] }));
        var alpha = Assert.Throws<HarnessException>(() => RegressionGate.Compare(docs, docs, Defaults with { Alpha = 0 }));

        Assert.StartsWith("Unknown metric 'p98'; known metrics: latency_p50", unknown.Message, StringComparison.Ordinal);
        Assert.StartsWith("--alpha 0 must lie in (0, 0.5]", alpha.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reports_render_as_text_markdown_and_junit()
    {
        var rng = new Random(9);
        GateReport report = RegressionGate.Compare(Side(rng, 1.0), Side(rng, 1.3), Defaults with { Metrics = ["latency_p50", "latency_p999", "throughput"] });
        output.WriteLine(GateTextReport.Render(report));

        string text = GateTextReport.Render(report);
        string md = GateMarkdownReport.Render(report);
        var junit = System.Xml.Linq.XDocument.Parse(GateJUnitReport.Render(report));

        Assert.StartsWith("harness compare: REGRESSION", text, StringComparison.Ordinal);
        Assert.Contains("latency_p999", text, StringComparison.Ordinal);
        Assert.Contains("| metric | base | current | change | 90% CI |", md, StringComparison.Ordinal);
        Assert.Contains("**inconclusive**", md, StringComparison.Ordinal); // p99.9 needs 4,603 requests per run
        var cases = junit.Descendants("testcase").ToList();
        Assert.Equal(3, cases.Count);
        Assert.Equal("2", junit.Root!.Attribute("failures")!.Value);
        Assert.Equal("1", junit.Root!.Attribute("skipped")!.Value);
        Assert.NotNull(cases.Single(c => c.Attribute("name")!.Value == "latency_p999").Element("skipped"));
        Assert.Equal("regression", cases.Single(c => c.Attribute("name")!.Value == "throughput").Element("failure")!.Attribute("type")!.Value);
    }

    private static GateVerdict? Verdict(GateReport report, string metric) =>
        report.Metrics.FirstOrDefault(m => m.Metric == metric)?.Verdict;

    /// <summary>Five runs of 600 requests; <paramref name="slowdown"/> scales latency and divides throughput; runs drift 2% apart.</summary>
    internal static List<ResultDocument> Side(Random rng, double slowdown, int runs = 5, int perRun = 600, double drift = 0.02)
    {
        var docs = new List<ResultDocument>();
        for (int r = 0; r < runs; r++)
        {
            double shift = Math.Exp(drift * SyntheticResults.Gaussian(rng));
            double[] latencies = SyntheticResults.LogNormal(rng, perRun, 20 * slowdown * shift, 0.15);
            double throughput = 1000.0 / latencies.Average(); // one worker: requests per second
            docs.Add(SyntheticResults.Make(latencies, Math.Round(throughput, 4)));
        }

        return docs;
    }
}
