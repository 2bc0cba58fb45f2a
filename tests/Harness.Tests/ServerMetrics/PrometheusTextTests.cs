using Harness.ServerMetrics;

namespace Harness.Tests.ServerMetrics;

public class PrometheusTextTests
{
    [Fact]
    public void Families_types_help_labels_with_escapes_and_special_values()
    {
        const string text = """
            # HELP vllm:num_requests_running Number of requests\nrunning \\ now.
            # TYPE vllm:num_requests_running gauge
            vllm:num_requests_running{model_name="a \"quoted\" name",path="C:\\x",note="line\nnext"} 3
            # TYPE odd gauge
            odd{a="1",} NaN
            odd{a="2"} +Inf
            odd{a="3"} -Inf 1700000000000
            untyped_thing 4.5e-3
            """;

        IReadOnlyList<MetricFamily> families = PrometheusText.Parse(text);

        MetricFamily running = families.Single(f => f.Name == "vllm:num_requests_running");
        Assert.Equal("gauge", running.Type);
        Assert.Equal("Number of requests\nrunning \\ now.", running.Help);
        PrometheusSample s = Assert.Single(running.Samples);
        Assert.Equal("a \"quoted\" name", s.Label("model_name"));
        Assert.Equal("C:\\x", s.Label("path"));
        Assert.Equal("line\nnext", s.Label("note"));
        Assert.Equal(3, s.Value);

        MetricFamily odd = families.Single(f => f.Name == "odd");
        Assert.True(double.IsNaN(odd.Samples[0].Value));
        Assert.Equal(double.PositiveInfinity, odd.Samples[1].Value);
        Assert.Equal(double.NegativeInfinity, odd.Samples[2].Value);
        Assert.Equal(1700000000000, odd.Samples[2].TimestampMs);
        Assert.Equal(0.0045, families.Single(f => f.Name == "untyped_thing").Samples[0].Value, 12);
        Assert.Equal("untyped", families.Single(f => f.Name == "untyped_thing").Type);
    }

    [Fact]
    public void Histogram_series_belong_to_their_family_and_an_exemplar_is_ignored()
    {
        const string text = """
            # TYPE vllm:time_to_first_token_seconds histogram
            vllm:time_to_first_token_seconds_bucket{le="0.1"} 2 # {trace_id="abc"} 0.05
            vllm:time_to_first_token_seconds_bucket{le="0.5"} 5
            vllm:time_to_first_token_seconds_bucket{le="+Inf"} 6
            vllm:time_to_first_token_seconds_sum 1.5
            vllm:time_to_first_token_seconds_count 6
            """;

        MetricFamily h = Assert.Single(PrometheusText.Parse(text));
        Assert.Equal(5, h.Samples.Count);
        Assert.Equal(2, h.Samples[0].Value);
    }

    [Theory]
    [InlineData("metric{a=\"unclosed} 1", "line 1: series metric has label a with an unclosed value")]
    [InlineData("ok 1\nbad{a=1} 2", "line 2: series bad has label a without a quoted value")]
    [InlineData("m{a=\"x\\q\"} 1", "line 1: series m has label a with an unknown escape '\\q'")]
    [InlineData("m notanumber", "line 1: series m has a value 'notanumber' that is not a number")]
    [InlineData("# TYPE m sometype", "line 1: metric m has an unknown type 'sometype'")]
    [InlineData("9lives 1", "line 1: '9lives' is not a metric name")]
    public void A_malformed_line_is_one_sentence_with_its_line_number(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => PrometheusText.Parse(text));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Scrape_summary_sums_label_sets_takes_counter_increases_and_histogram_quantiles_over_the_window()
    {
        var first = ServerMetricsScraper.Scrape.From(0, PrometheusText.Parse(Vllm(running: 1, generated: 100, le01: 2, le05: 5, inf: 6, sum: 1.5)));
        var second = ServerMetricsScraper.Scrape.From(1_000_000_000, PrometheusText.Parse(Vllm(running: 3, generated: 400, le01: 2, le05: 15, inf: 16, sum: 4.0)));

        ServerMetricsReport r = ServerMetricsReport.Build("u", TimeSpan.FromSeconds(1), [first, second], 0, null, null, PrometheusText.Parse(Vllm(3, 400, 2, 15, 16, 4)), 0, 1_000_000_000);

        Assert.Equal("vllm", r.Server);
        ServerMetricSummary running = r.Known.Single(k => k.Key == "requests_running");
        // Two model label sets, summed.
        Assert.Equal(2, running.Min);
        Assert.Equal(6, running.Max);
        ServerMetricSummary generated = r.Known.Single(k => k.Key == "generation_tokens");
        Assert.Equal(300, generated.Increase);
        Assert.Equal(300, generated.RatePerS);
        ServerMetricSummary ttft = r.Known.Single(k => k.Key == "ttft");
        Assert.Equal(10, ttft.Count);
        Assert.Equal(0.25, ttft.Mean!.Value, 9);
        // All ten window observations fell in (0.1, 0.5]: the median interpolates to the middle of that bucket.
        Assert.Equal(0.3, ttft.P50!.Value, 9);
        Assert.Empty(r.Families);
    }

    [Fact]
    public void An_unknown_server_gives_its_raw_families()
    {
        IReadOnlyList<MetricFamily> families = PrometheusText.Parse("# TYPE my_queue gauge\nmy_queue 4\n# TYPE my_done counter\nmy_done_total 9\n");
        ServerMetricsReport r = ServerMetricsReport.Build("u", TimeSpan.FromSeconds(1), [ServerMetricsScraper.Scrape.From(0, families)], 0, null, families, families, 0, 1);

        Assert.Equal("unknown", r.Server);
        Assert.Empty(r.Known);
        Assert.Equal(["my_queue", "my_done"], r.Families.Select(f => f.Name));
        Assert.Equal(9, r.Families[1].Value);
    }

    private static string Vllm(int running, int generated, int le01, int le05, int inf, double sum) => string.Join('\n',
        "# TYPE vllm:num_requests_running gauge",
        $"vllm:num_requests_running{{model_name=\"a\"}} {running}",
        $"vllm:num_requests_running{{model_name=\"b\"}} {running}",
        "# TYPE vllm:generation_tokens_total counter",
        $"vllm:generation_tokens_total{{model_name=\"a\"}} {generated}",
        "# TYPE vllm:time_to_first_token_seconds histogram",
        $"vllm:time_to_first_token_seconds_bucket{{le=\"0.1\"}} {le01}",
        $"vllm:time_to_first_token_seconds_bucket{{le=\"0.5\"}} {le05}",
        $"vllm:time_to_first_token_seconds_bucket{{le=\"+Inf\"}} {inf}",
        $"vllm:time_to_first_token_seconds_sum {sum.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
        $"vllm:time_to_first_token_seconds_count {inf}") + "\n";
}
