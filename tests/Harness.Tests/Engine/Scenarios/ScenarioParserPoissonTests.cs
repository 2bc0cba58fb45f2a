using Harness.Engine.Scenarios;

namespace Harness.Tests.Engine.Scenarios;

public class ScenarioParserPoissonTests
{
    [Theory]
    [InlineData("poisson:50", 50.0, PoissonScenario.DefaultWorkers)]
    [InlineData("poisson:12.5:4", 12.5, 4)]
    [InlineData(" Poisson:0.5:1 ", 0.5, 1)]
    public void Parses_rate_and_workers(string text, double rate, int workers)
    {
        var s = Assert.IsType<PoissonScenario>(ScenarioParser.Parse(text, seed: 9));

        Assert.Equal(rate, s.Rate);
        Assert.Equal(workers, s.Workers);
        Assert.Equal(9, s.Seed);
    }

    [Theory]
    [InlineData("poisson:", "arrival rate")]
    [InlineData("poisson:0", "arrival rate")]
    [InlineData("poisson:-3", "arrival rate")]
    [InlineData("poisson:abc", "arrival rate")]
    [InlineData("poisson:10:0", "worker count")]
    [InlineData("poisson:10:x", "worker count")]
    [InlineData("poisson:10:2:3", "arrival rate")]
    public void Bad_poisson_text_is_one_sentence_of_bad_input(string text, string mentions)
    {
        var e = Assert.Throws<HarnessException>(() => ScenarioParser.Parse(text));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(mentions, e.Message, StringComparison.Ordinal);
        Assert.EndsWith(".", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_scenarios_list_poisson_among_the_choices()
    {
        var e = Assert.Throws<HarnessException>(() => ScenarioParser.Parse("burst:3"));

        Assert.Contains("poisson:RATE", e.Message, StringComparison.Ordinal);
    }
}
