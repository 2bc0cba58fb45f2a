using Harness.Backends;

namespace Harness.Tests.Backends;

public class WorkloadOptionsTests
{
    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData(" ON ", true)]
    [InlineData("yes", true)]
    [InlineData("0", false)]
    [InlineData("False", false)]
    [InlineData("off", false)]
    [InlineData("no", false)]
    public void Flags_read_the_usual_spellings(string text, bool expected)
    {
        var options = new WorkloadOptions { Extra = new Dictionary<string, string> { ["cuda_graph"] = text } };
        Assert.Equal(expected, options.Flag("cuda_graph"));
    }

    [Fact]
    public void An_absent_flag_takes_the_fallback_and_a_bad_one_is_one_sentence()
    {
        var options = new WorkloadOptions { Extra = new Dictionary<string, string> { ["spin"] = "sometimes" } };
        Assert.False(options.Flag("cuda_graph"));
        Assert.True(options.Flag("cuda_graph", fallback: true));
        var e = Assert.Throws<HarnessException>(() => options.Flag("spin"));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal("--set spin=sometimes: expected 1 or 0 (true/false, on/off).", e.Message);
    }
}
