using System.Globalization;
using System.Text.RegularExpressions;
using Harness.Agents.Reporting;
using Harness.Cost;
using Harness.Decoding;
using Harness.Reports;
using Harness.Results;
using Harness.ServerMetrics;

namespace Harness.Tests.Reports;

public class HtmlReportTests
{
    [Fact]
    public void A_sweep_gives_the_cdf_scaling_and_frontier_charts_and_names_what_is_absent()
    {
        string html = HtmlReport.Render(ReportInputs.ConcurrencySweep());

        Assert.Equal(["latency-cdf", "throughput-scaling", "latency-throughput"], Charts(html));
        foreach (string absent in new[] { "goodput", "part-llm", "part-agents", "telemetry-power", "telemetry-gpu-utilization", "telemetry-disturbance", "energy-per-unit", "cost-per-million" })
        {
            Assert.Contains($"data-absent=\"{absent}\"", html, StringComparison.Ordinal);
        }

        Assert.Contains("concurrency (requests in flight)", html, StringComparison.Ordinal);
        // One CDF line per run, one scaling line for the workload.
        Assert.Equal(3, Regex.Matches(Section(html, "latency-cdf"), "<polyline").Count);
        Assert.Single(Regex.Matches(Section(html, "throughput-scaling"), "<polyline"));
    }

    [Fact]
    public void Telemetry_and_roofline_charts_appear_when_the_results_carry_them()
    {
        string html = HtmlReport.Render(ReportInputs.ConcurrencySweep(telemetry: true, roofline: true));

        Assert.Equal(
            ["latency-cdf", "throughput-scaling", "latency-throughput", "mfu", "mbu", "roofline", "telemetry-power", "telemetry-gpu-utilization", "telemetry-disturbance"],
            Charts(html));
        string power = Section(html, "telemetry-power");
        Assert.Equal(3, Regex.Matches(power, "<polyline").Count);
        Assert.Contains("gpus[0].power_w", power, StringComparison.Ordinal);
        Assert.DoesNotContain("temperature", html, StringComparison.Ordinal);
        // Disturbed windows are shaded on every timeline: from 1 s to 2 s of the 4-worker run.
        string disturbance = Section(html, "telemetry-disturbance");
        Assert.Equal(3, Regex.Matches(disturbance, "<polyline").Count);
        Assert.Contains("class=\"band disturbed\"", disturbance, StringComparison.Ordinal);
        Assert.Contains("concurrency:4: other processes over the quiet-host limit from 1 s to 2 s", disturbance, StringComparison.Ordinal);
        Assert.Contains("class=\"band disturbed\"", Section(html, "telemetry-gpu-utilization"), StringComparison.Ordinal);
        // A percentage stays a percentage (gpu_util_pct), a fraction becomes one.
        Assert.Contains("busy (%)", Section(html, "telemetry-gpu-utilization"), StringComparison.Ordinal);
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
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
    }

    [Fact]
    public void The_h200_decode_runs_give_ttft_tpot_and_itl_cdfs_and_their_energy_and_cost()
    {
        List<LoadedResult> runs = ReportFixtures.H200Decoders();
        PriceOffer offer = ReportFixtures.H200Offer();
        string html = HtmlReport.Render(new ReportInput(runs, []) { Offer = offer });
        List<ChartInDom> charts = ChartInDom.Parse(html);

        foreach (string id in new[] { "ttft-cdf", "tpot-cdf", "itl-cdf" })
        {
            ChartInDom cdf = charts.Single(c => c.Id == id);
            // One scenario three times: each run is named by the setting that differs.
            Assert.Equal(["single, batch 1", "single, batch 16", "single, batch 64"], cdf.Series);
            Assert.Equal("(ms)", Regex.Match(cdf.XLabel, @"\(ms\)").Value);
        }

        // Tokens/s against the batch, one line for the one backend.
        ChartInDom scaling = charts.Single(c => c.Id == "throughput-scaling");
        Assert.Equal(("batch size (sequences)", "throughput (tokens/s)"), (scaling.XLabel, scaling.YLabel));
        Assert.Equal(["generate torch:cuda"], scaling.Series);

        // Every run's energy per token as a bar and a figure, from the result itself.
        ChartInDom energy = charts.Single(c => c.Id == "energy-per-unit");
        Assert.Equal(3, Regex.Matches(energy.Svg, "class=\"bar\"").Count);
        string figures = Section(html, "energy-cost-figures");
        foreach (LoadedResult r in runs)
        {
            Assert.Contains(r.Document.Metrics.JoulesPerToken!.Value.ToString("0.####", CultureInfo.InvariantCulture) + " J/token", figures, StringComparison.Ordinal);
            Assert.Contains(r.Document.Metrics.EnergyJ!.Value.ToString("#,0.#", CultureInfo.InvariantCulture), figures, StringComparison.Ordinal);
            double perMtok = ResultCost.Compute(r.Document, offer, r.Path).UsdPerMillion;
            Assert.Contains(perMtok.ToString("0.####", CultureInfo.InvariantCulture) + " $/Mtok", figures, StringComparison.Ordinal);
        }

        Assert.Equal(3, Regex.Matches(charts.Single(c => c.Id == "cost-per-million").Svg, "class=\"bar\"").Count);
        Assert.Contains("aws/p5en.48xlarge", figures, StringComparison.Ordinal);
        // MFU against the catalog peak and the measured ceiling two of the runs were given.
        ChartInDom mfu = charts.Single(c => c.Id == "mfu");
        Assert.Equal(["prefill MFU", "decode MFU"], mfu.Series);
        Assert.Contains("catalog peak", mfu.Rules);
        Assert.Contains(mfu.Rules, r => r.StartsWith("measured GEMM ceiling: 67.5% of peak", StringComparison.Ordinal));
        ChartInDom mbu = charts.Single(c => c.Id == "mbu");
        Assert.Equal(["decode MBU"], mbu.Series);
        Assert.Contains("catalog peak", mbu.Rules);
        Assert.DoesNotContain("No power telemetry", html, StringComparison.Ordinal);
        Assert.Equal(3, charts.Single(c => c.Id == "telemetry-power").Series.Count);
    }

    [Fact]
    public void Runs_whose_settings_are_the_same_are_told_apart_by_their_file()
    {
        LoadedResult b1 = ReportFixtures.H200Decoders()[0];
        var runs = new RunSet([b1, b1 with { Path = Path.Combine("elsewhere", "again.json") }]);

        Assert.Equal(["single (torch-generate-llama-1b-b1)", "single (again)"], runs.All.Select(runs.Label));
    }

    [Fact]
    public void Without_a_price_the_cost_view_says_how_to_get_one_and_energy_stays()
    {
        string html = HtmlReport.Render(ReportFixtures.H200Decoders());

        Assert.Contains("data-absent=\"cost-per-million\"", html, StringComparison.Ordinal);
        Assert.Contains("report --instance NAME", html, StringComparison.Ordinal);
        Assert.Contains("data-chart=\"energy-per-unit\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rate_sweep_with_an_slo_gives_goodput_and_each_objective_against_its_limit()
    {
        ReportInput input = ReportFixtures.RateSweep();
        List<ChartInDom> charts = ChartInDom.Parse(HtmlReport.Render(input));

        ChartInDom goodput = charts.Single(c => c.Id == "goodput");
        Assert.Equal(["offered rate (all requests meeting the SLO)", "generate onnx:cpu: goodput", "generate onnx:cpu: completed"], goodput.Series);
        Assert.Contains("ttft_p99<=20ms", goodput.Title, StringComparison.Ordinal);
        var objectives = charts.Where(c => c.Id == "slo-percentile").ToList();
        Assert.Equal(["SLO: ttft_p99<=20ms", "SLO: tpot_p99<=5ms"], objectives.SelectMany(c => c.Rules));
        Assert.All(objectives, c => Assert.Single(c.Series));
        // The runs shared the machine: their windows are shaded on the timelines.
        Assert.True(charts.Single(c => c.Id == "telemetry-disturbance").Bands > 0);
    }

    [Fact]
    public void An_agents_sweep_folder_gives_its_curve_with_the_90_percent_line_and_the_answer()
    {
        ReportInput input = ReportFixtures.AgentsSweep();
        AgentSweepDocument doc = input.Sweeps.Single().Document;
        List<ChartInDom> charts = ChartInDom.Parse(HtmlReport.Render(input));

        Assert.Equal(doc.Points.Count, input.Results.Count);
        ChartInDom busy = charts.Single(c => c.Id == "agents-busy");
        int expected = 1 + (doc.Points.Any(p => p.Oversubscribed) ? 1 : 0) + (doc.Points.Any(p => p.SimulatedLlmBusyFraction is not null) ? 1 : 0)
            + (doc.Projection is null ? 0 : 1) + doc.Projections.Count;
        Assert.Equal(expected, busy.Series.Count);
        Assert.Contains("90% busy", busy.Rules);
        Assert.Contains(busy.Rules, r => r.StartsWith($"answer: {doc.CoresPerGpuFor90pctBusy} cores per GPU ({doc.CoresPerGpuBasis}", StringComparison.Ordinal));
        Assert.Contains(charts.Single(c => c.Id == "agents-jobs").Rules, r => r.StartsWith("answer:", StringComparison.Ordinal));
        // One stacked bar of three parts per point, and one row per tool measured.
        Assert.Equal(3 * doc.Points.Count, Regex.Matches(charts.Single(c => c.Id == "agents-turn-time").Svg, "class=\"bar\"").Count);
        Assert.Equal(doc.ToolCosts.Count, Regex.Matches(charts.Single(c => c.Id == "agents-tool-latency").Svg, "class=\"tick y row\"").Count);
    }

    [Fact]
    public void A_sweep_file_without_its_point_results_still_gives_the_agent_views()
    {
        string legacy = Path.Combine(Testing.Repository.ResultFixtures, "cpu-amd-epyc-avx512-2c", "agents-sweep_coding-agent_h100-llama-1b_20261126.json");
        ReportInput input = ReportInput.Read([legacy]);

        Assert.Empty(input.Results);
        List<string> charts = Charts(HtmlReport.Render(input));
        Assert.Equal(["agents-busy", "agents-jobs", "agents-turn-time", "agents-tool-latency"], charts);
    }

    [Fact]
    public void Server_series_get_their_charts_through_the_one_series_over_time_view()
    {
        LoadedResult served = ReportFixtures.Served();
        ServerMetricsReport server = served.Document.Serving!.ServerMetrics!;

        string html = HtmlReport.Render([served]);
        List<ChartInDom> charts = ChartInDom.Parse(html);

        // One line per gauge the server published, named as it published it, through the timelines' one chart of series over time.
        ChartInDom kv = charts.Single(c => c.Id == "server-kv-cache");
        Assert.Equal([$"{served.Document.Scenario}: vllm:kv_cache_usage_perc"], kv.Series);
        Assert.Equal("KV cache in use (%)", kv.YLabel);
        Assert.True(server.Known.Single(k => k.Key == "kv_cache_usage").Max > 0.5);
        Assert.Matches("class=\"tick y\"[^>]*>100<", kv.Svg); // a fraction drawn as a percentage, on an axis to 100
        ChartInDom requests = charts.Single(c => c.Id == "server-requests");
        Assert.Equal(["vllm:num_requests_running", "vllm:num_requests_waiting"], requests.Series.Select(s => s[(s.IndexOf(": ", StringComparison.Ordinal) + 2)..]).Order());
        Assert.Equal(server.Scrapes, server.Known.Single(k => k.Key == "requests_running").Series!.Count);
        Assert.Contains("vllm:num_requests_running", html, StringComparison.Ordinal);

        // The client's own distributions of a server run: TTFO beside TTFT, TPOT and ITL.
        Assert.Single(charts.Single(c => c.Id == "ttfo-cdf").Series);
        Assert.Contains(charts, c => c.Id == "ttft-cdf");

        // The server's latency histograms beside the client's measurement of the same quantity.
        string latency = Section(html, "server-latency");
        ServerMetricSummary ttft = server.Known.Single(k => k.Key == "ttft");
        string Ms(double v) => $"<td>{v.ToString("0.##", CultureInfo.InvariantCulture)}</td>";
        string row = Regex.Match(latency, "<tr><td>[^<]*</td><td>[^<]*vllm:time_to_first_token_seconds[^<]*</td>.*?</tr>").Value;
        Assert.Equal(
            [Ms(ttft.Count!.Value), Ms(ttft.Mean!.Value * 1000), Ms(served.Document.Metrics.TtftMs!.Mean), Ms(ttft.P50!.Value * 1000), Ms(served.Document.Metrics.TtftMs.P50), Ms(ttft.P99!.Value * 1000), Ms(served.Document.Metrics.TtftMs.P99)],
            Regex.Matches(row, "<td>[^<]*</td>").Skip(2).Select(m => m.Value));
        Assert.Equal(4, Regex.Matches(latency, "<tr><td>").Count); // TTFT, ITL, end-to-end and queue time
    }

    [Fact]
    public void Without_a_server_the_serving_view_says_what_would_produce_it()
    {
        string html = HtmlReport.Render(ReportInputs.ConcurrencySweep());

        Assert.DoesNotContain(ChartInDom.Parse(html), c => c.Id.StartsWith("server-", StringComparison.Ordinal));
        Assert.Contains("serving.server_metrics: kv_cache_usage", Section(html, "server-kv-cache"), StringComparison.Ordinal);
        Assert.Contains("serving.server_metrics: requests_running, requests_waiting", Section(html, "server-requests"), StringComparison.Ordinal);
        Assert.Contains("No server published latency histograms", Section(html, "server-latency"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_sampled_warm_up_is_shaded_on_the_timelines()
    {
        List<LoadedResult> results = ReportInputs.ConcurrencySweep().Take(1).ToList();
        results[0].Document.Telemetry = new Harness.Telemetry.TelemetryReport
        {
            Cpu = new Harness.Telemetry.CpuTelemetry
            {
                Series = new Harness.Telemetry.TelemetrySeries
                {
                    TS = [-2.0, -1.0, 0.0, 1.0],
                    Columns = { ["utilization"] = new double?[] { 0.5, 0.5, 0.6, 0.6 } },
                },
            },
        };

        string html = HtmlReport.Render(results);

        Assert.Contains("class=\"band warmup\"", Section(html, "telemetry-cpu-utilization"), StringComparison.Ordinal);
        Assert.Contains("warm-up, -2 s to 0 s", html, StringComparison.Ordinal);
        Assert.Contains("Shaded grey: the warm-up.", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Many_runs_can_be_grouped_and_filtered_in_the_page()
    {
        string html = HtmlReport.Render(ReportFixtures.H200Decoders());

        Assert.Contains("<select id=\"group-by\"><option value=\"workload\">workload</option><option value=\"backend\">backend</option><option value=\"machine\">machine</option></select>", html, StringComparison.Ordinal);
        Assert.Equal(3, Regex.Matches(html, "<tr data-run=\"run-\\d\" data-workload=\"generate\" data-backend=\"torch:cuda\" data-machine=\"NVIDIA H200\">").Count);
        // Chart marks carry the run they show, so that the filter hides them with the run's row.
        Assert.Contains("data-run=\"run-3\"", Section(html, "ttft-cdf"), StringComparison.Ordinal);
        Assert.Single(Regex.Matches(html, "<script>"));
    }

    [Fact]
    public void Every_chart_names_its_axes_with_units()
    {
        var pages = new[]
        {
            HtmlReport.Render(new ReportInput(ReportFixtures.H200Decoders(), []) { Offer = ReportFixtures.H200Offer() }),
            HtmlReport.Render(ReportFixtures.RateSweep()),
            HtmlReport.Render(ReportFixtures.AgentsSweep()),
            GateView.Render(ReportFixtures.Compare()),
            FleetView.Render(ReportFixtures.Fleet()),
            PlanView.Render(ReportFixtures.Plan()),
        };

        foreach (ChartInDom chart in pages.SelectMany(ChartInDom.Parse))
        {
            Assert.True(ChartInDom.HasUnit(chart.XLabel), $"{chart.Id}: x axis '{chart.XLabel}' has no unit");
            Assert.True(chart.YAxisKind == "category" ? chart.YLabel.Length > 0 : ChartInDom.HasUnit(chart.YLabel), $"{chart.Id}: y axis '{chart.YLabel}' has no unit");
        }
    }

    [Fact]
    public void The_page_is_self_contained()
    {
        string html = HtmlReport.Render(ReportFixtures.H200Decoders());

        foreach (string forbidden in new[] { "<link", "<img", "<iframe", " src=", "href=", "url(", "@import", "@font-face", "fetch(", "XMLHttpRequest" })
        {
            Assert.DoesNotContain(forbidden, html, StringComparison.OrdinalIgnoreCase);
        }

        // The only URL is the SVG namespace, which is a name, not a fetch; the one script is inline.
        Assert.All(Regex.Matches(html, "https?://[^\"' ]+").Select(m => m.Value), u => Assert.Equal("http://www.w3.org/2000/svg", u));
        Assert.Equal(Regex.Matches(html, "<script").Count, Regex.Matches(html, "<script>").Count);
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

    internal static string Section(string html, string id)
    {
        int start = html.IndexOf($"<section class=\"view\" id=\"{id}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section {id}");
        int end = html.IndexOf("</section>", start, StringComparison.Ordinal);
        return html[start..end];
    }
}
