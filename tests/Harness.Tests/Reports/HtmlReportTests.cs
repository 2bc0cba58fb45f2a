using System.Text.RegularExpressions;
using Harness.Reports;
using Harness.Results;

namespace Harness.Tests.Reports;

public class HtmlReportTests
{
    [Fact]
    public void A_sweep_gives_the_cdf_scaling_and_frontier_charts_and_names_what_is_absent()
    {
        string html = HtmlReport.Render(ReportInputs.ConcurrencySweep());

        Assert.Equal(["latency-cdf", "throughput-scaling", "latency-throughput"], Charts(html));
        Assert.Contains("data-absent=\"telemetry-power\"", html, StringComparison.Ordinal);
        Assert.Contains("data-absent=\"telemetry-utilization\"", html, StringComparison.Ordinal);
        Assert.Contains("data-absent=\"roofline\"", html, StringComparison.Ordinal);
        Assert.Contains("concurrency (requests in flight)", html, StringComparison.Ordinal);
        // One CDF line per run, one scaling line for the workload.
        Assert.Equal(3, Regex.Matches(Section(html, "latency-cdf"), "<polyline").Count);
        Assert.Single(Regex.Matches(Section(html, "throughput-scaling"), "<polyline"));
    }

    [Fact]
    public void Telemetry_and_roofline_charts_appear_when_the_results_carry_them()
    {
        string html = HtmlReport.Render(ReportInputs.ConcurrencySweep(telemetry: true, roofline: true));

        Assert.Equal(HtmlReport.ChartIds, Charts(html));
        string power = Section(html, "telemetry-power");
        Assert.Equal(3, Regex.Matches(power, "<polyline").Count);
        Assert.Contains("gpu.samples.power_w", power, StringComparison.Ordinal);
        Assert.DoesNotContain("temperature", html, StringComparison.Ordinal);
        // Disturbed windows are shaded on the time series: from 1 s to 2 s of the 4-worker run.
        string disturbance = Section(html, "telemetry-disturbance");
        Assert.Equal(3, Regex.Matches(disturbance, "<polyline").Count);
        Assert.Contains("class=\"band disturbed\"", disturbance, StringComparison.Ordinal);
        Assert.Contains("concurrency:4: other processes over the quiet-host limit from 1 s to 2 s", disturbance, StringComparison.Ordinal);
        Assert.Contains("class=\"band disturbed\"", Section(html, "telemetry-utilization"), StringComparison.Ordinal);
        // Roof plus one point per run, each labelled with its MFU.
        Assert.Equal(3, Regex.Matches(Section(html, "roofline"), "<circle").Count);
        Assert.Contains("MFU 10.0%", html, StringComparison.Ordinal);
    }

    [Fact]
    public void A_single_result_has_no_scaling_chart_and_says_how_to_get_one()
    {
        string html = HtmlReport.Render(ReportInputs.ConcurrencySweep().Take(1).ToList());

        Assert.Equal(["latency-cdf", "latency-throughput"], Charts(html));
        Assert.Contains("--sweep-concurrency 1,2,4", html, StringComparison.Ordinal);
    }

    [Fact]
    public void The_page_is_self_contained()
    {
        string html = HtmlReport.Render(ReportInputs.ConcurrencySweep(telemetry: true, roofline: true));

        foreach (string forbidden in new[] { "<script", "<link", "<img", "<iframe", " src=", "href=", "url(", "@import", "@font-face" })
        {
            Assert.DoesNotContain(forbidden, html, StringComparison.OrdinalIgnoreCase);
        }

        // The only URL is the SVG namespace, which is a name, not a fetch.
        Assert.All(Regex.Matches(html, "https?://[^\"' ]+").Select(m => m.Value), u => Assert.Equal("http://www.w3.org/2000/svg", u));
        Assert.Equal(Regex.Matches(html, "<svg").Count, Regex.Matches(html, "</svg>").Count);
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.EndsWith("</html>\n", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_from_result_files_is_escaped()
    {
        string html = HtmlReport.Render(ReportInputs.ConcurrencySweep(workload: "<img src=x onerror=alert(1)>"));

        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public void No_results_is_bad_input() =>
        Assert.Equal(ExitCodes.BadInput, Assert.Throws<HarnessException>(() => HtmlReport.Render(new List<LoadedResult>())).ExitCode);

    internal static List<string> Charts(string html) =>
        Regex.Matches(html, "<svg[^>]*data-chart=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();

    private static string Section(string html, string id)
    {
        int start = html.IndexOf($"<section id=\"{id}\"", StringComparison.Ordinal);
        int end = html.IndexOf("</section>", start, StringComparison.Ordinal);
        return html[start..end];
    }
}
