using Harness.Tokenization;

namespace Harness.Tests.Tokenization;

/// <summary>
/// The managed NFC (string.Normalize does nothing under InvariantGlobalization, which the harness runs with): expected
/// forms from Python's unicodedata.normalize("NFC", ...), covering composition, singletons, canonical reordering,
/// Hangul, composition exclusions, non-starter decompositions and characters past the BMP.
/// </summary>
public sealed class NfcNormalizerTests
{
    [Theory]
    [InlineData("e\u0301", "\u00e9")]
    [InlineData("\u212b", "\u00c5")]
    [InlineData("A\u030a", "\u00c5")]
    [InlineData("e\u0302\u0323", "\u1ec7")]
    [InlineData("e\u0323\u0302", "\u1ec7")]
    [InlineData("\u1100\u1161\u11a8", "\uac01")]
    [InlineData("\uac00\u11a8", "\uac01")]
    [InlineData("\u0958", "\u0915\u093c")]
    [InlineData("a\u0328\u0301", "\u0105\u0301")]
    [InlineData("\u0344", "\u0308\u0301")]
    [InlineData("\U0001d15e", "\U0001d157\U0001d165")]
    [InlineData("A\u0301\u0316", "\u00c1\u0316")]
    [InlineData("Cafe\u0301 \u0441\u0438\u0306 \u65e5\u672c", "Caf\u00e9 \u0441\u0439 \u65e5\u672c")]
    public void Text_is_put_in_normalization_form_c(string text, string expected)
    {
        Assert.NotEqual(expected, text.Normalize()); // InvariantGlobalization: the framework's own does nothing here
        Assert.Equal(expected, NfcNormalizer.Normalize(text));
    }

    [Theory]
    [InlineData("plain ASCII, and Latin-1: caf\u00e9")]
    [InlineData("\u00e9\u0301 \uac01 \u4e2d\u6587")]
    [InlineData("\u0301a, a mark blocked: \u00e9\u0301")]
    public void Text_already_in_nfc_is_the_same_string_blocked_marks_included(string text)
    {
        Assert.Same(text, NfcNormalizer.Normalize(text));
    }
}
