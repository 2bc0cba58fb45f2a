using Harness.Engine.Scenarios;

namespace Harness.Tests.Engine;

public class ScenarioParserTests
{
    [Theory]
    [InlineData("single", "single", 1)]
    [InlineData("offline", "offline", 1)]
    [InlineData("concurrency:8", "concurrency:8", 8)]
    [InlineData(" Concurrency:2 ", "concurrency:2", 2)]
    public void Parses_known_scenarios(string text, string name, int workers)
    {
        IScenario s = ScenarioParser.Parse(text);
        Assert.Equal(name, s.Name);
        Assert.Equal(workers, s.Workers);
    }

    [Theory]
    [InlineData("burst")]
    [InlineData("concurrency:0")]
    [InlineData("concurrency:x")]
    [InlineData("concurrency:")]
    public void Rejects_unknown_or_malformed_scenarios(string text)
    {
        var e = Assert.Throws<HarnessException>(() => ScenarioParser.Parse(text));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(text.Trim(), e.Message, StringComparison.OrdinalIgnoreCase);
    }
}
