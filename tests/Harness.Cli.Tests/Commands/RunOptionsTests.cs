using Harness.Cli.Commands;
using Harness.Engine;

namespace Harness.Cli.Tests.Commands;

/// <summary>The stop options as parsed: the tail rule by default; an explicit --min-requests or --tail keeps its meaning.</summary>
public class RunOptionsTests
{
    [Fact]
    public void Left_out_min_requests_means_100_and_the_tail_rule()
    {
        StopRules stop = RunOptions.ParseArguments("run minilm --duration 1s", "run").Settings.Stop;
        Assert.True(stop.UntilTail);
        Assert.Equal(100, stop.MinRequests);
    }

    [Theory]
    [InlineData("50")]
    [InlineData("100")] // the default's value, but given: the user chose the count
    public void An_explicit_min_requests_is_the_count_alone(string count)
    {
        StopRules stop = RunOptions.ParseArguments($"run minilm --duration 1s --min-requests {count}", "run").Settings.Stop;
        Assert.False(stop.UntilTail);
        Assert.Equal(long.Parse(count, System.Globalization.CultureInfo.InvariantCulture), stop.MinRequests);
    }

    [Fact]
    public void An_explicit_tail_is_the_one_percentile_the_tail_rule_waits_for()
    {
        RunSettings withSlo = RunOptions.ParseArguments("run minilm --scenario poisson:1 --slo ttft_p99<5s", "run").Settings;
        Assert.Equal(
            ["latency p99 scenario poisson:1", "ttft p99 ttft SLO"],
            TailRule.Targets(withSlo).Select(t => $"{t.Metric} {t.Name} {t.Source}"));

        RunSettings withTail = RunOptions.ParseArguments("run minilm --scenario poisson:1 --slo ttft_p99<5s --tail p90", "run").Settings;
        Assert.True(withTail.Stop.UntilTail);
        Assert.Equal(["latency p90 --tail"], TailRule.Targets(withTail).Select(t => $"{t.Metric} {t.Name} {t.Source}"));
    }
}

/// <summary><c>--set</c> pairs: several in one, comma-separated, and commas inside a value.</summary>
public class SetOptionTests
{
    [Fact]
    public void One_set_may_hold_several_pairs_and_a_value_may_hold_commas()
    {
        List<KeyValuePair<string, string>> pairs =
            OptionParsers.Settings(["temperature=0.7,top_p=0.9", "ceilings=a.json,b.json", "spin=0"]);

        Assert.Equal(
            ["temperature=0.7", "top_p=0.9", "ceilings=a.json,b.json", "spin=0"],
            pairs.Select(p => $"{p.Key}={p.Value}"));
    }
}
