using Harness.Backends;

namespace Harness.Tests.Backends;

public class SettingsSchemaTests
{
    private static readonly SettingKey<int> Size = Setting.Int("size", 64, 1, "edge");
    private static readonly SettingKey<string> Mode = Setting.Choice("mode", "copy", "what a pass does", "copy", "read");
    private static readonly SettingKey<TimeSpan?> Timeout = Setting.Duration("timeout", "none", "a request's limit");
    private static readonly SettingKey<double?> Temperature = Setting.NumberOrNone("temperature", 0, 0, 2, "sampling");
    private static readonly SettingsSchema Schema = new(Size, Mode, Timeout, Temperature);

    private static Dictionary<string, string> Set(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public void Declared_keys_with_good_values_pass_and_read_as_their_types()
    {
        Dictionary<string, string> settings = Set(("size", " 128 "), ("mode", "READ"), ("timeout", "30s"), ("temperature", "none"));
        Schema.Check("Workload 'w' on fake", settings);
        Assert.Equal((128, "read", TimeSpan.FromSeconds(30), (double?)null), ReadAll(settings));
        Dictionary<string, string> none = Set();
        Assert.Equal((64, "copy", (TimeSpan?)null, (double?)0), ReadAll(none));
        Assert.Equal(7, Size.Get(none, fallback: 7));
    }

    [Fact]
    public void An_unknown_key_is_one_sentence_naming_the_subject_and_every_key_with_its_type()
    {
        var e = Assert.Throws<HarnessException>(() => Schema.Check("Workload 'w' on fake", Set(("sizee", "4096"))));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal(
            "Workload 'w' on fake has no setting 'sizee'; "
            + "its settings: size (int), mode (copy|read), timeout (duration), temperature (number|none).",
            e.Message);
    }

    [Theory]
    [InlineData("size", "abc", "is not an integer of at least 1")]
    [InlineData("size", "0", "is not an integer of at least 1")]
    [InlineData("mode", "write", "is not one of copy, read")]
    [InlineData("timeout", "0s", "is not a duration longer than zero, e.g. 30s, 500ms, 2m or 1h")]
    [InlineData("temperature", "2.5", "is not a number from 0 to 2, or none")]
    public void A_bad_value_is_one_sentence_with_what_was_expected(string key, string value, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => Schema.Check("Workload 'w' on fake", Set((key, value))));
        string sentence = $"Workload 'w' on fake: setting {key}={value} {expected}; its settings: size (int)";
        Assert.StartsWith(sentence, e.Message, StringComparison.Ordinal);
        var read = Assert.Throws<HarnessException>(() => ReadAll(Set((key, value))));
        Assert.Equal($"--set {key}={value}: expected {expected["is not ".Length..]}.", read.Message);
    }

    [Fact]
    public void A_schema_without_keys_refuses_every_key_and_says_it_takes_none() =>
        Assert.Equal(
            "LLM backend latency-model has no setting 'spin'; it takes no settings.",
            Assert.Throws<HarnessException>(() => SettingsSchema.None.Check("LLM backend latency-model", Set(("spin", "0")))).Message);

    [Fact]
    public void A_key_declared_twice_is_a_programming_error() =>
        Assert.Throws<ArgumentException>(() => Schema.With(Setting.Int("size", 1, 1, "again")));

    [Fact]
    public void Dashes_stand_for_underscores_and_describe_gives_one_line_per_key()
    {
        var key = Setting.Int("size_mib", 256, 1, "buffer", "256 on cpu");
        Assert.Equal(9, key.Get(Set(("size-mib", "9"))));
        Assert.Equal("size_mib=int (default 256 on cpu): buffer", Assert.Single(new SettingsSchema(key).Describe()));
    }

    [Theory]
    [InlineData("256")]
    [InlineData("-1")]
    [InlineData("abc")]
    public void An_int_with_a_maximum_shows_its_range_and_refuses_a_value_outside_it_listing_the_keys(string value)
    {
        var level = Setting.Int("gray_level", 128, 0, "gray value", max: 255);
        var schema = new SettingsSchema(Size, level);
        Assert.Equal("gray_level=int 0..255 (default 128): gray value", schema.Describe().Last());

        var e = Assert.Throws<HarnessException>(() => schema.Check("Workload 'w' on fake", Set(("gray_level", value))));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal(
            $"Workload 'w' on fake: setting gray_level={value} is not an integer from 0 to 255; "
            + "its settings: size (int), gray_level (int 0..255).",
            e.Message);
        var read = Assert.Throws<HarnessException>(() => level.Get(Set(("gray_level", value))));
        Assert.Equal($"--set gray_level={value}: expected an integer from 0 to 255.", read.Message);

        schema.Check("Workload 'w' on fake", Set(("gray_level", "255")));
        Assert.Equal(0, level.Get(Set(("gray_level", "0"))));
        Assert.Equal(255, level.Get(Set(("gray_level", "255"))));
    }

    private static (int, string, TimeSpan?, double?) ReadAll(Dictionary<string, string> settings) =>
        (Size.Get(settings), Mode.Get(settings), Timeout.Get(settings), Temperature.Get(settings));
}
