using Harness.Hardware.Catalog;

namespace Harness.Cost;

/// <summary>How old a price may be and still be used; "today" is a parameter so that tests can fix it.</summary>
public sealed record PriceAgePolicy(DateOnly Today, int MaxAgeDays = PriceAgePolicy.DefaultMaxAgeDays)
{
    public const int DefaultMaxAgeDays = 365;

    public static PriceAgePolicy Now(int maxAgeDays = DefaultMaxAgeDays) => new(DateOnly.FromDateTime(DateTime.UtcNow), maxAgeDays);

    public DateOnly Cutoff => Today.AddDays(-MaxAgeDays);

    public bool IsStale(Price price) => price.Date < Cutoff;
}

/// <summary>
/// The price catalog (catalog/prices.json) plus any user price file laid over it: offers with dates
/// and sources. Stale catalog offers are left out of every comparison; a stale offer asked for by
/// name, or any stale or undated price in a user file, is refused.
/// </summary>
public sealed class PriceCatalog
{
    public const int SupportedVersion = 1;

    private static readonly Lazy<PriceCatalog> BuiltIn = new(() =>
        Parse(CatalogFile.ReadBuiltIn("prices.json"), "catalog/prices.json", HardwareCatalog.Default, policy: null, origin: "catalog"));

    private PriceCatalog(IReadOnlyList<PriceOffer> offers) => Offers = offers;

    /// <summary>Every offer, stale ones included.</summary>
    public IReadOnlyList<PriceOffer> Offers { get; }

    public static PriceCatalog Default => BuiltIn.Value;

    /// <summary>
    /// Parses a price file. With a <paramref name="policy"/>, prices older than its cutoff are refused
    /// (user files); without, they are kept and filtered at use (the built-in catalog).
    /// </summary>
    public static PriceCatalog Parse(string json, string fileLabel, HardwareCatalog hardware, PriceAgePolicy? policy, string? origin = null)
    {
        var file = CatalogFile.Deserialize<PriceFile>(json, fileLabel);
        if (file.CatalogVersion is { } v && v != SupportedVersion)
        {
            throw HarnessException.BadInput($"{fileLabel} has catalog_version {v}; this harness reads version {SupportedVersion}.");
        }

        if (file.Currency is { } cur && !cur.Equals("USD", StringComparison.OrdinalIgnoreCase))
        {
            throw HarnessException.BadInput($"{fileLabel} is in {cur}; only USD prices are supported, convert them first.");
        }

        var offers = new List<PriceOffer>();
        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (OfferEntry e in file.Offers ?? [])
        {
            PriceOffer offer = e.ToOffer(fileLabel, hardware, policy, origin ?? fileLabel);
            if (!ids.Add(offer.Id))
            {
                throw HarnessException.BadInput($"{fileLabel}: offer '{offer.Id}' appears twice.");
            }

            offers.Add(offer);
        }

        return new PriceCatalog(offers);
    }

    /// <summary>Reads a user's price file (<c>--prices FILE</c>); its prices must be dated within the policy.</summary>
    public static PriceCatalog LoadUserFile(string path, HardwareCatalog hardware, PriceAgePolicy policy) =>
        Parse(CatalogFile.ReadUserFile(path, "Price file"), $"Price file '{path}'", hardware, policy);

    /// <summary>This catalog with <paramref name="overrides"/> laid over it: same id replaces, new ids are added.</summary>
    public PriceCatalog With(PriceCatalog overrides)
    {
        var byId = Offers.ToDictionary(o => o.Id, StringComparer.OrdinalIgnoreCase);
        foreach (PriceOffer o in overrides.Offers)
        {
            byId[o.Id] = o;
        }

        return new PriceCatalog(byId.Values.OrderBy(o => o.Provider).ThenBy(o => o.Instance, StringComparer.Ordinal).ToList());
    }

    /// <summary>Offers whose price is within the policy's age.</summary>
    public IReadOnlyList<PriceOffer> Current(PriceAgePolicy policy) => Offers.Where(o => !policy.IsStale(o.Price)).ToList();

    public IReadOnlyList<PriceOffer> Stale(PriceAgePolicy policy) => Offers.Where(o => policy.IsStale(o.Price)).ToList();

    /// <summary>Current offers of one card, cheapest per GPU-hour first.</summary>
    public IReadOnlyList<PriceOffer> ForDevice(string deviceId, PriceAgePolicy policy) =>
        Current(policy).Where(o => string.Equals(o.Device, deviceId, StringComparison.OrdinalIgnoreCase))
            .OrderBy(o => o.UsdPerGpuHour ?? double.MaxValue).ToList();

    /// <summary>
    /// The offer named by id ("aws/p5.48xlarge") or instance ("p5.48xlarge"), case-insensitive. Unknown
    /// names list the known ones; a stale price is refused with the way out.
    /// </summary>
    public PriceOffer Get(string name, PriceAgePolicy policy)
    {
        string n = name.Trim();
        var matches = Offers.Where(o => string.Equals(o.Id, n, StringComparison.OrdinalIgnoreCase)).ToList();
        if (matches.Count == 0)
        {
            matches = Offers.Where(o => string.Equals(o.Instance, n, StringComparison.OrdinalIgnoreCase)).ToList();
        }

        if (matches.Count == 0)
        {
            throw HarnessException.BadInput($"Unknown instance '{name}'; {CatalogFile.Known(Offers.Select(o => o.Id))}");
        }

        if (matches.Count > 1)
        {
            throw HarnessException.BadInput($"Instance '{name}' is offered by several providers; name one of {string.Join(", ", matches.Select(o => o.Id))}.");
        }

        PriceOffer offer = matches[0];
        if (policy.IsStale(offer.Price))
        {
            throw HarnessException.BadInput(
                $"The price of {offer.Id} is dated {offer.Price.Date:yyyy-MM-dd}, older than the {policy.MaxAgeDays}-day cutoff ({policy.Cutoff:yyyy-MM-dd}); give a current one with --price or --prices FILE.");
        }

        return offer;
    }

    private sealed class PriceFile
    {
        public int? CatalogVersion { get; init; }

        public string? Currency { get; init; }

        public List<OfferEntry>? Offers { get; init; }
    }

    private sealed class OfferEntry
    {
        public string? Id { get; init; }

        public string? Provider { get; init; }

        public string? Instance { get; init; }

        public string? Region { get; init; }

        public string? Device { get; init; }

        public int? Gpus { get; init; }

        public int? Vcpus { get; init; }

        public string? Pricing { get; init; }

        public string? Note { get; init; }

        public PriceEntry? Price { get; init; }

        public PriceOffer ToOffer(string file, HardwareCatalog hardware, PriceAgePolicy? policy, string origin)
        {
            if (string.IsNullOrWhiteSpace(Instance) && string.IsNullOrWhiteSpace(Id))
            {
                throw HarnessException.BadInput($"{file}: an offer has neither an id nor an instance name.");
            }

            string instance = Instance ?? Id!;
            string id = Id ?? (Provider is null ? instance : $"{Provider}/{instance}");
            string where = $"{file}: offer '{id}'";
            if (Price is null)
            {
                throw HarnessException.BadInput($"{where} has no price.");
            }

            if (Price.Value is not { } value || !(value > 0) || double.IsInfinity(value))
            {
                throw HarnessException.BadInput($"{where} needs a positive price value.");
            }

            if (string.IsNullOrWhiteSpace(Price.Unit))
            {
                throw HarnessException.BadInput($"{where} has a price without a unit; write \"unit\": \"USD/h\" (per instance-hour) or \"USD/gpu-h\" (per GPU-hour).");
            }

            if (Cost.Price.ParseUnit(Price.Unit) is not { } basis)
            {
                throw HarnessException.BadInput($"{where} has price unit '{Price.Unit}'; use USD/h (per instance-hour) or USD/gpu-h (per GPU-hour), in US dollars.");
            }

            if (string.IsNullOrWhiteSpace(Price.Date))
            {
                throw HarnessException.BadInput($"{where} has a price without a date; write \"date\": \"yyyy-MM-dd\" (when the price was read).");
            }

            if (CatalogFile.ParseDate(Price.Date) is not { } date)
            {
                throw HarnessException.BadInput($"{where} has price date '{Price.Date}'; write it as yyyy-MM-dd.");
            }

            if (policy is not null)
            {
                if (date > policy.Today.AddDays(1))
                {
                    throw HarnessException.BadInput($"{where} is dated {date:yyyy-MM-dd}, after today ({policy.Today:yyyy-MM-dd}).");
                }

                if (date < policy.Cutoff)
                {
                    throw HarnessException.BadInput(
                        $"{where} is dated {date:yyyy-MM-dd}, older than the {policy.MaxAgeDays}-day cutoff ({policy.Cutoff:yyyy-MM-dd}); update the price or raise --max-price-age.");
                }
            }

            string? device = null;
            if (!string.IsNullOrWhiteSpace(Device))
            {
                device = (hardware.Find(Device) ?? throw HarnessException.BadInput(
                    $"{where} names card '{Device}', which the hardware catalog lacks; {CatalogFile.Known(hardware.Ids)}")).Id;
            }

            if (Gpus is < 0 || (device is not null && Gpus is null or 0))
            {
                throw HarnessException.BadInput($"{where} needs \"gpus\": the number of {device ?? "GPUs"} per instance.");
            }

            return new PriceOffer
            {
                Id = id,
                Provider = Provider,
                Instance = instance,
                Region = Region,
                Device = device,
                Gpus = Gpus ?? 0,
                Vcpus = Vcpus,
                Pricing = Pricing ?? "on-demand",
                Note = Note,
                Origin = origin,
                Price = new Price(value, basis, date, Price.Source ?? origin),
            };
        }
    }

    private sealed class PriceEntry
    {
        public double? Value { get; init; }

        public string? Unit { get; init; }

        public string? Date { get; init; }

        public string? Source { get; init; }
    }
}
