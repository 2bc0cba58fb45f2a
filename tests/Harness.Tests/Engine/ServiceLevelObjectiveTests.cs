using Harness.Engine;

namespace Harness.Tests.Engine;

public class ServiceLevelObjectiveTests
{
    [Theory]
    [InlineData("p99<50ms", "latency", 0.99, 50.0)]
    [InlineData("p90<=0.2s", "latency", 0.90, 200.0)]
    [InlineData("ttft_p99<500ms", "ttft", 0.99, 500.0)]
    [InlineData("tpot:p95 < 40 ms", "tpot", 0.95, 40.0)]
    [InlineData("latency_p99.9<750us", "latency", 0.999, 0.75)]
    public void Parses_metric_percentile_and_limit(string text, string metric, double p, double ms)
    {
        ServiceLevelObjective slo = ServiceLevelObjective.Parse(text);

        Assert.Equal(metric, slo.Metric);
        Assert.Equal(p, slo.Percentile, 12);
        Assert.Equal(ms, slo.LimitMs, 12);
    }

    [Fact]
    public void A_comma_separated_list_gives_several_objectives()
    {
        var list = ServiceLevelObjective.ParseList("ttft_p99<500ms, tpot_p99<50ms");

        Assert.Equal(["ttft_p99<=500ms", "tpot_p99<=50ms"], list.Select(s => s.ToString()));
    }

    [Theory]
    [InlineData("p99")]
    [InlineData("p99<50")]
    [InlineData("p100<50ms")]
    [InlineData("p0<50ms")]
    [InlineData("q99<50ms")]
    [InlineData("p99>50ms")]
    [InlineData("itl_p99<5ms")]
    [InlineData("p99<0ms")]
    [InlineData(",")]
    public void Bad_objectives_are_bad_input(string text)
    {
        var e = Assert.Throws<HarnessException>(() => ServiceLevelObjective.ParseList(text));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.StartsWith("--slo", e.Message, StringComparison.Ordinal);
    }
}
