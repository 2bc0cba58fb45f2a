using Harness.Hardware.Catalog;

namespace Harness.Cost;

/// <summary>The prices in force for one command: the catalog with any user file over it, and the one price asked for.</summary>
public sealed record PriceSelection(PriceCatalog Catalog, PriceAgePolicy Policy, PriceOffer? Chosen)
{
    /// <summary>
    /// Resolves <c>--instance</c>, <c>--price</c> and <c>--prices</c>: the user file (if any) is laid
    /// over the catalog; <c>--price</c> and <c>--instance</c> exclude each other.
    /// </summary>
    public static PriceSelection Resolve(string? instance, string? price, string? pricesFile, PriceAgePolicy policy, HardwareCatalog hardware)
    {
        if (policy.MaxAgeDays < 1)
        {
            throw HarnessException.BadInput("--max-price-age must be at least 1 day.");
        }

        if (instance is not null && price is not null)
        {
            throw HarnessException.BadInput("Give either --instance or --price, not both.");
        }

        PriceCatalog catalog = PriceCatalog.Default;
        if (pricesFile is not null)
        {
            catalog = catalog.With(PriceCatalog.LoadUserFile(pricesFile, hardware, policy));
        }

        PriceOffer? chosen = price is not null ? PriceArgument.Parse(price, policy.Today)
            : instance is not null ? catalog.Get(instance, policy)
            : null;
        return new PriceSelection(catalog, policy, chosen);
    }
}
