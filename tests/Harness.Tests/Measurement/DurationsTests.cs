using Harness.Measurement;

namespace Harness.Tests.Measurement;

/// <summary>The one duration grammar: every form the CLI's options and <c>--set timeout=</c> took before, and nothing else.</summary>
public class DurationsTests
{
    [Theory]
    [InlineData("30s", 30.0)]
    [InlineData("500ms", 0.5)]
    [InlineData("2m", 120.0)]
    [InlineData("1h", 3600.0)]
    [InlineData("1.5s", 1.5)]
    [InlineData("45", 45.0)]
    [InlineData("0s", 0.0)]
    [InlineData("0", 0.0)]
    [InlineData(" 10m ", 600.0)]
    [InlineData("10M", 600.0)]
    [InlineData("250MS", 0.25)]
    [InlineData("5 s", 5.0)]
    [InlineData("+5s", 5.0)]
    [InlineData(".5s", 0.5)]
    [InlineData("2.s", 2.0)]
    [InlineData("1e3ms", 1.0)]
    [InlineData("168h", 604800.0)]
    public void Accepts_every_form_of_both_former_grammars(string text, double seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), Durations.TryParse(text));
        Assert.Equal(TimeSpan.FromSeconds(seconds), Durations.Parse(text, "--duration"));
    }

    [Theory]
    [InlineData("3 parsecs")]
    [InlineData("-1s")]
    [InlineData("s")]
    [InlineData("")]
    [InlineData("1d")]
    [InlineData("5sec")]
    [InlineData("1,5s")]
    [InlineData("NaN")]
    public void Refuses_anything_else_with_one_sentence(string text)
    {
        Assert.Null(Durations.TryParse(text));
        var e = Assert.Throws<HarnessException>(() => Durations.Parse(text, "--warmup"));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal($"--warmup '{text}' is not a duration; use e.g. 30s, 500ms, 2m or 1h.", e.Message);
    }

    [Fact]
    public void A_duration_over_a_week_is_refused_as_such()
    {
        Assert.Null(Durations.TryParse("169h"));
        var e = Assert.Throws<HarnessException>(() => Durations.Parse("20000m", "--timeout"));
        Assert.Equal("--timeout '20000m' is longer than a week.", e.Message);
    }
}
