using Harness.Backends;

namespace Harness.Tests.Backends;

public class WorkloadOptionsTests
{
    private static readonly SettingKey<bool> CudaGraph = Setting.Flag("cuda_graph", false, "test flag");

    private static Dictionary<string, string> Set(string key, string value) => new() { [key] = value };

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData(" ON ", true)]
    [InlineData("yes", true)]
    [InlineData("0", false)]
    [InlineData("False", false)]
    [InlineData("off", false)]
    [InlineData("no", false)]
    public void Flags_read_the_usual_spellings(string text, bool expected) =>
        Assert.Equal(expected, CudaGraph.Get(Set("cuda_graph", text)));

    [Fact]
    public void An_absent_flag_takes_the_fallback_and_a_bad_one_is_one_sentence()
    {
        Dictionary<string, string> settings = Set("spin", "sometimes");
        Assert.False(CudaGraph.Get(settings));
        Assert.True(CudaGraph.Get(settings, fallback: true));
        var e = Assert.Throws<HarnessException>(() => RuntimeSettings.Spin.Get(settings));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal("--set spin=sometimes: expected 1 or 0 (true/false, on/off).", e.Message);
    }

    [Theory]
    [InlineData("none", GraphOptimization.None, "none")]
    [InlineData("disable", GraphOptimization.None, "none")]
    [InlineData("Basic", GraphOptimization.Basic, "basic")]
    [InlineData("extended", GraphOptimization.Extended, "extended")]
    [InlineData(" all ", GraphOptimization.All, "all")]
    public void The_optimization_level_is_parsed_once_into_its_enum(string text, GraphOptimization expected, string name)
    {
        Assert.Equal(expected, GraphOptimizations.Parse(text));
        Assert.Equal(name, expected.Name());
    }

    [Fact]
    public void An_unknown_optimization_level_is_bad_input() =>
        Assert.Equal(ExitCodes.BadInput, Assert.Throws<HarnessException>(() => GraphOptimizations.Parse("max")).ExitCode);
}
