using System.Text.Json;
using Harness.Agents.Profiles;

namespace Harness.Tests.Agents.Profiles;

public class DistributionTests
{
    private static Distribution Parse(string json) => Distribution.Parse(JsonDocument.Parse(json).RootElement, "test");

    [Fact]
    public void A_bare_number_is_fixed()
    {
        Assert.Equal(7, Parse("7").SampleInt(new Random(1)));
    }

    [Fact]
    public void Lognormal_median_and_p90_match_the_given_ones()
    {
        Distribution d = Parse("""{ "lognormal": { "median": 100, "p90": 400 } }""");
        var rng = new Random(3);
        double[] s = Enumerable.Range(0, 20_000).Select(_ => d.Sample(rng)).Order().ToArray();
        Assert.InRange(s[10_000], 95, 105);
        Assert.InRange(s[18_000], 380, 420);
    }

    [Fact]
    public void Clamps_bound_every_sample()
    {
        Distribution d = Parse("""{ "lognormal": { "median": 100, "p90": 1000 }, "min": 50, "max": 120 }""");
        var rng = new Random(5);
        Assert.All(Enumerable.Range(0, 1000).Select(_ => d.Sample(rng)), v => Assert.InRange(v, 50, 120));
    }

    [Fact]
    public void Choice_follows_its_weights_and_the_mean_estimate_matches()
    {
        Distribution d = Parse("""{ "choice": { "0": 1, "2": 3 } }""");
        Assert.InRange(d.EstimateMean(), 1.45, 1.55);
    }

    [Theory]
    [InlineData("\"x\"", "neither a number")]
    [InlineData("""{ "uniform": [3, 1] }""", "low <= high")]
    [InlineData("""{ "lognormal": { "median": 10 } }""", "needs \"p90\"")]
    [InlineData("""{ "gauss": 1 }""", "unknown key 'gauss'")]
    [InlineData("""{ "fixed": 1, "min": 5, "max": 2 }""", "min above max")]
    public void Bad_forms_are_one_sentence(string json, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => Parse(json));
        Assert.Contains(expected, e.Message);
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
    }
}
