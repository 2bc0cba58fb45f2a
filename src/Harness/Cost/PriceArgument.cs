using System.Globalization;
using System.Text.RegularExpressions;

namespace Harness.Cost;

/// <summary>
/// The <c>--price</c> option: "98.32/h" (the machine per hour) or "12.29/gpu-h" (per GPU-hour), in
/// US dollars ("$98.32/h" and "98.32 USD/h" read the same), dated the day it is given.
/// </summary>
public static partial class PriceArgument
{
    public const string Help = "98.32/h (whole machine per hour) or 12.29/gpu-h (per GPU-hour), US dollars";

    public static PriceOffer Parse(string text, DateOnly today)
    {
        Match m = Pattern().Match(text);
        if (!m.Success)
        {
            string hint = NumberOnly().IsMatch(text) ? $" needs a unit: {text.Trim()}/h (whole machine per hour) or {text.Trim()}/gpu-h (per GPU-hour)" : $" is not a price such as {Help}";
            throw HarnessException.BadInput($"--price '{text}'{hint}.");
        }

        double usd = double.Parse(m.Groups["v"].Value, CultureInfo.InvariantCulture);
        if (!(usd > 0))
        {
            throw HarnessException.BadInput($"--price '{text}' must be positive.");
        }

        PriceBasis basis = m.Groups["u"].Value.StartsWith("gpu", StringComparison.OrdinalIgnoreCase) ? PriceBasis.Gpu : PriceBasis.Instance;
        return new PriceOffer
        {
            Id = "--price",
            Instance = "--price",
            Pricing = "user",
            Origin = "--price",
            Price = new Price(usd, basis, today, "--price"),
        };
    }

    [GeneratedRegex(@"^\s*(?:\$|usd\s*)?(?<v>\d+(?:\.\d+)?)\s*(?:usd)?\s*/\s*(?<u>h|hr|hour|instance-h|gpu-h|gpu-hr|gpu-hour)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    [GeneratedRegex(@"^\s*\$?\d+(\.\d+)?\s*$")]
    private static partial Regex NumberOnly();
}
