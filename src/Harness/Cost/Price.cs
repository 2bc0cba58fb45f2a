using System.Text.Json.Serialization;
using Harness.Results;
using Harness.Running;

namespace Harness.Cost;

/// <summary>What a price is charged for: a whole instance-hour or one GPU-hour.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PriceBasis>))]
public enum PriceBasis
{
    /// <summary>"USD/h": the whole instance (or machine) for an hour.</summary>
    Instance,

    /// <summary>"USD/gpu-h": one GPU for an hour.</summary>
    Gpu,
}

/// <summary>A dated price in US dollars with its source; nothing is priced without all four.</summary>
public sealed record Price(double Usd, PriceBasis Basis, DateOnly Date, string Source)
{
    public const string InstanceUnit = "USD/h";
    public const string GpuUnit = "USD/gpu-h";

    public string Unit => Basis == PriceBasis.Instance ? InstanceUnit : GpuUnit;

    /// <summary>"USD/h", "USD/hour", "USD/instance-h" or "USD/gpu-h", "USD/gpu-hour"; null when not a price unit.</summary>
    public static PriceBasis? ParseUnit(string? unit)
    {
        if (unit is null)
        {
            return null;
        }

        string u = unit.Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant();
        return u switch
        {
            "usd/h" or "usd/hour" or "usd/hr" or "usd/instance-h" or "usd/instance-hour" => PriceBasis.Instance,
            "usd/gpu-h" or "usd/gpu-hour" or "usd/gpuh" or "usd/gpu-hr" => PriceBasis.Gpu,
            _ => null,
        };
    }

    public override string ToString() => $"{Usd:0.####} {Unit} ({Date:yyyy-MM-dd}, {Source})";
}

/// <summary>
/// An offer of a catalog or price file: an instance type of a provider with its GPUs and price.
/// A price given on the command line is an offer too, with no provider and no known GPU count.
/// A run puts it on its result through <see cref="IResultPrice"/>.
/// </summary>
public sealed record PriceOffer : IResultPrice
{
    void IResultPrice.Annotate(ResultDocument doc) => ResultCost.Annotate(doc, this);

    IReadOnlyDictionary<string, object?> IResultPrice.Describe() => ResultCost.Describe(this);

    public required string Id { get; init; }

    public string? Provider { get; init; }

    public required string Instance { get; init; }

    public string? Region { get; init; }

    /// <summary>Hardware catalog id of the GPUs; null for CPU-only machines and command-line prices.</summary>
    public string? Device { get; init; }

    /// <summary>GPUs per instance; 0 when unknown or none.</summary>
    public int Gpus { get; init; }

    public int? Vcpus { get; init; }

    /// <summary>on-demand, capacity-block, dws-flex-start, user...</summary>
    public string Pricing { get; init; } = "on-demand";

    public required Price Price { get; init; }

    /// <summary>Where the offer was read: "catalog", a price file's path, or "--price".</summary>
    public string Origin { get; init; } = "catalog";

    public string? Note { get; init; }

    /// <summary>Dollars per hour for one instance.</summary>
    public double UsdPerInstanceHour => Price.Basis == PriceBasis.Instance ? Price.Usd : Price.Usd * Math.Max(1, Gpus);

    /// <summary>Dollars per GPU-hour; null for an instance price whose GPU count is unknown.</summary>
    public double? UsdPerGpuHour => Price.Basis == PriceBasis.Gpu ? Price.Usd : Gpus > 0 ? Price.Usd / Gpus : null;

    public override string ToString() => Id;
}
