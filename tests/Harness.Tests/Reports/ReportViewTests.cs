using System.Text.RegularExpressions;
using Harness.Fleet;
using Harness.Gate;
using Harness.Planning;
using Harness.Reports;

namespace Harness.Tests.Reports;

/// <summary>The compare, merge and plan pages, each drawn from what its command computed.</summary>
public class ReportViewTests
{
    [Fact]
    public void The_compare_page_gives_each_metric_its_change_interval_and_threshold_and_calls_out_differences()
    {
        GateReport report = ReportFixtures.Compare();
        string html = GateView.Render(report);
        List<ChartInDom> charts = ChartInDom.Parse(html);

        Assert.Contains($"data-verdict=\"{report.Verdict.ToString().ToLowerInvariant()}\"", html, StringComparison.Ordinal);
        ChartInDom verdicts = charts.Single(c => c.Id == "gate-verdicts");
        Assert.Equal(report.Metrics.Count(m => m.CiLowPct is not null && m.CiHighPct is not null), Regex.Matches(verdicts.Svg, "class=\"error-bar\"").Count);
        Assert.Equal(report.Metrics.Count, Regex.Matches(verdicts.Svg, "class=\"tick y row\"").Count);
        Assert.Contains("threshold (regression side)", verdicts.Series);
        Assert.Contains(GateReport.Word(GateVerdict.Regression), verdicts.Series);
        // Every fingerprint difference is a row, speed-moving ones first; every disturbed run is named.
        string differences = HtmlReportTests.Section(html, "gate-fingerprint");
        Assert.Equal(report.Comparability!.Differences.Count + 1, Regex.Matches(differences, "<tr>").Count);
        Assert.Contains("config threads", differences, StringComparison.Ordinal);
        Assert.Equal(report.Disturbed.Count + 1, Regex.Matches(HtmlReportTests.Section(html, "gate-disturbance"), "<tr>").Count);
        Assert.All(report.Warnings, w => Assert.Contains(System.Net.WebUtility.HtmlEncode(w), html, StringComparison.Ordinal));
        // One row per run, each with its own interval where the gate gave one.
        ChartInDom runs = charts.Single(c => c.Id == "gate-runs");
        Assert.Equal(report.Runs.Count, Regex.Matches(runs.Svg, "class=\"tick y row\"").Count);
        Assert.Equal(report.Runs.Count(r => r.P50Low is not null && r.LatencyP50 is not null), Regex.Matches(runs.Svg, "class=\"error-bar\"").Count);
    }

    [Fact]
    public void The_merge_page_lists_every_node_and_marks_the_flagged_ones()
    {
        FleetSummary summary = ReportFixtures.Fleet();
        string html = FleetView.Render(summary);
        List<ChartInDom> charts = ChartInDom.Parse(html);

        Assert.Equal(["fleet-throughput_per_s", "fleet-latency_p50_ms", "fleet-latency_p99_ms"], charts.Select(c => c.Id));
        ChartInDom throughput = charts[0];
        NodeSummary flagged = Assert.Single(summary.Nodes, n => n.Flags.Any(f => f.Metric == "throughput_per_s"));
        Assert.Contains("flagged outlier", throughput.Series);
        Assert.Equal(summary.Nodes.Count(n => n.Measured), Regex.Matches(throughput.Svg, "class=\"tick y row\"").Count);
        Assert.Contains(throughput.Rules, r => r.StartsWith("median ", StringComparison.Ordinal));
        Assert.Equal(2, throughput.Rules.Count(r => r == "rule bound"));
        // The nodes table has every task, the missing one too.
        string nodes = HtmlReportTests.Section(html, "fleet-nodes");
        Assert.Equal(summary.Nodes.Count + 1, Regex.Matches(nodes, "<tr>").Count);
        Assert.Contains("missing", nodes, StringComparison.Ordinal);
        Assert.Contains(flagged.Flags[0].Reason, System.Net.WebUtility.HtmlDecode(nodes), StringComparison.Ordinal);
        Assert.Contains("data-verdict=\"attention\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void The_plan_page_puts_the_cards_side_by_side_with_gpus_cost_and_error_bars()
    {
        CapacityPlan plan = ReportFixtures.Plan();
        string html = PlanView.Render(plan, "Measured card: h200.");
        List<ChartInDom> charts = ChartInDom.Parse(html);
        int met = plan.Cards.Count(c => c.MeetsSlo);

        Assert.True(met > 0);
        ChartInDom gpus = charts.Single(c => c.Id == "plan-gpus");
        Assert.Equal(met, Regex.Matches(gpus.Svg, "class=\"bar\"").Count);
        Assert.Equal(met, Regex.Matches(gpus.Svg, "class=\"error-bar\"").Count);
        Assert.Equal(plan.Cards.Count(c => c.MeetsSlo && c.Offers.Count > 0), Regex.Matches(charts.Single(c => c.Id == "plan-cost").Svg, "class=\"bar\"").Count);
        Assert.Equal(met, Regex.Matches(charts.Single(c => c.Id == "plan-throughput").Svg, "class=\"error-bar\"").Count);
        foreach (CardPlan card in plan.Cards)
        {
            Assert.Contains($">{card.Card}<", gpus.Svg, StringComparison.Ordinal);
        }

        Assert.Contains("Measured card: h200.", html, StringComparison.Ordinal);
    }

    [Fact]
    public void The_plan_svg_is_one_well_formed_file_of_the_same_charts()
    {
        string svg = PlanView.Svg(ReportFixtures.Plan());

        var xml = System.Xml.Linq.XDocument.Parse(svg);
        Assert.Equal("svg", xml.Root!.Name.LocalName);
        Assert.Equal(["plan-gpus", "plan-cost"], ChartInDom.Parse(svg).Select(c => c.Id));
    }
}
