using System.Globalization;
using System.Text.RegularExpressions;

namespace Harness.Planning;

/// <summary>The throughput a plan must serve, in output tokens per second.</summary>
public static partial class PlanTarget
{
    /// <summary>"50000 tok/s", "50k tok/s", "1.2M tokens/s" or a bare number.</summary>
    public static double ParseTokensPerSecond(string text)
    {
        Match m = Pattern().Match(text);
        if (!m.Success)
        {
            throw HarnessException.BadInput($"--target '{text}' is not a rate such as \"50000 tok/s\" or \"50k tok/s\".");
        }

        double v = double.Parse(m.Groups["v"].Value, CultureInfo.InvariantCulture) * (m.Groups["k"].Value.ToLowerInvariant() switch
        {
            "k" => 1e3,
            "m" => 1e6,
            _ => 1,
        });
        if (!(v > 0))
        {
            throw HarnessException.BadInput($"--target '{text}' must be positive.");
        }

        return v;
    }

    [GeneratedRegex(@"^\s*(?<v>\d+(?:\.\d+)?)\s*(?<k>[kKmM])?\s*(?:tok/s|tokens/s|tok/sec)?\s*$")]
    private static partial Regex Pattern();
}

/// <summary>
/// A value chosen per card: "fp8" for every card, "h100=fp8,gb200=fp4" per card, or both
/// ("fp8,gb200=fp4": fp8 where no card is named). Card names are catalog ids or aliases.
/// </summary>
public sealed record CardChoice(string? Default, IReadOnlyDictionary<string, string> ByCard)
{
    public static CardChoice None { get; } = new(null, new Dictionary<string, string>());

    /// <summary>The value for a card; null keeps the run's.</summary>
    public string? For(string cardId) => ByCard.TryGetValue(cardId, out string? v) ? v : Default;

    public static CardChoice Parse(string? text, string option, Hardware.Catalog.HardwareCatalog catalog)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return None;
        }

        string? fallback = null;
        var byCard = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                fallback = fallback is null
                    ? Projection.Precision.Parse(part, option)
                    : throw HarnessException.BadInput($"{option} '{text}' gives more than one value for all cards; name the card for the others (card=value).");
                continue;
            }

            string card = catalog.Get(part[..eq].Trim()).Id;
            if (!byCard.TryAdd(card, Projection.Precision.Parse(part[(eq + 1)..], option)))
            {
                throw HarnessException.BadInput($"{option} '{text}' names {card} twice.");
            }
        }

        return new CardChoice(fallback, byCard);
    }
}
