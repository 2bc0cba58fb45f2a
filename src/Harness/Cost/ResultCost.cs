using System.Globalization;
using System.Text.Json;
using Harness.Metrics;
using Harness.Results;

namespace Harness.Cost;

/// <summary>One offer applied to one result: the hourly charge and the cost per million output units.</summary>
public sealed record CostLine(
    PriceOffer Offer,
    HourlyCharge Charge,
    double UnitsPerSecond,
    string Unit,
    double UsdPerMillion,
    double? UsdPerJob);

/// <summary>
/// Cost of a measured result. The throughput is the result's output tokens/s (output_tokens_per_s,
/// else throughput_per_s) or samples/s; an agent result also has a job rate (jobs_per_hour).
/// </summary>
public static class ResultCost
{
    /// <summary>The config key that holds the offer a result was priced with (written once, by <see cref="Annotate"/>).</summary>
    public const string ConfigKey = ConfigKeys.Price;

    /// <summary>GPUs the run held: config gpus or tp, else 1 for a CUDA backend, else 0 (the whole machine is charged).</summary>
    public static int GpusUsed(ResultDocument doc)
    {
        if (DocumentValues.FirstNumber(doc.Config, ConfigKeys.Gpus, "tp", "tensor_parallel") is { } n && n >= 1)
        {
            return (int)n;
        }

        return doc.Backend.Contains(":cuda", StringComparison.OrdinalIgnoreCase) ? 1 : 0;
    }

    /// <summary>Output units per second and their unit ("tokens", "samples"...); null when the result has none.</summary>
    public static (double PerSecond, string Unit)? Throughput(ResultDocument doc)
    {
        if (doc.Metrics.Value(MetricCatalog.OutputTokensPerS) is { } tps && tps > 0)
        {
            return (tps, "tokens");
        }

        return doc.Metrics.ThroughputPerS > 0 ? (doc.Metrics.ThroughputPerS, doc.Metrics.ThroughputUnit) : null;
    }

    /// <summary>Jobs per second of an agent result; null for other results.</summary>
    public static double? JobsPerSecond(ResultDocument doc) =>
        doc.Metrics.Value(MetricCatalog.JobsPerHour) is { } perHour && perHour > 0 ? perHour / 3600 : null;

    public static CostLine Compute(ResultDocument doc, PriceOffer offer, string origin) =>
        Compute(doc, offer, CostCalculator.Charge(offer, GpusUsed(doc)), origin);

    /// <summary>
    /// The cost under the offer the result was priced with when it ran (its config.price), at the
    /// charge it was priced at then (metrics.usd_per_hour, for config.price's gpus_charged and basis;
    /// recomputed from the offer where a file lacks them); null when the result carries no price.
    /// </summary>
    public static CostLine? Recorded(ResultDocument doc, string origin)
    {
        if (DocumentValues.AsElement(doc.Config.GetValueOrDefault(ConfigKey)) is not { } p)
        {
            return null;
        }

        string? Text(string key) =>
            p.ValueKind == JsonValueKind.Object && p.TryGetProperty(key, out JsonElement v) && v.ValueKind == JsonValueKind.String
                ? v.GetString()
                : null;
        double? value = DocumentValues.FirstNumber(p, "value");
        PriceBasis? basis = Price.ParseUnit(Text("unit"));
        bool dated = DateOnly.TryParseExact(Text("date"), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateOnly on);
        if (Text("instance") is not { } instance || value is not > 0 || basis is not { } b || !dated || Text("source") is not { } source)
        {
            throw HarnessException.BadInput(
                $"The price {origin} carries (config.price) lacks one of instance, value, unit, date and source; "
                + "give --instance NAME or --price.");
        }

        var offer = new PriceOffer
        {
            Id = instance,
            Instance = instance,
            Device = Text("device"),
            Pricing = Text("pricing") ?? "on-demand",
            Price = new Price(value.Value, b, on, source),
            Origin = $"{origin} (config.price)",
        };
        HourlyCharge charge = doc.Metrics.Value(MetricCatalog.UsdPerHour) is { } perHour && perHour > 0
            && DocumentValues.FirstNumber(p, "gpus_charged") is { } gpus && Text("basis") is { } basisText
            ? new HourlyCharge(perHour, (int)gpus, basisText)
            : CostCalculator.Charge(offer, GpusUsed(doc));
        return Compute(doc, offer, charge, origin);
    }

    private static CostLine Compute(ResultDocument doc, PriceOffer offer, HourlyCharge charge, string origin)
    {
        if (Throughput(doc) is not { } t)
        {
            throw HarnessException.BadInput($"Result {origin} has no throughput to put a cost on.");
        }

        double? perJob = JobsPerSecond(doc) is { } jobs ? CostCalculator.UsdPerJob(charge.UsdPerHour, jobs) : null;
        return new CostLine(offer, charge, t.PerSecond, t.Unit, CostCalculator.UsdPerMillion(charge.UsdPerHour, t.PerSecond), perJob);
    }

    /// <summary>The offer as a result's config.price writes it; with the charge, also what the run was charged for.</summary>
    public static Dictionary<string, object?> Describe(PriceOffer offer, HourlyCharge? charge = null)
    {
        var price = new Dictionary<string, object?>
        {
            ["instance"] = offer.Id,
            ["device"] = offer.Device,
            ["pricing"] = offer.Pricing,
            ["value"] = offer.Price.Usd,
            ["unit"] = offer.Price.Unit,
            ["date"] = offer.Price.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            ["source"] = offer.Price.Source,
        };
        if (charge is { } c)
        {
            price["gpus_charged"] = c.GpusCharged;
            price["basis"] = c.Basis;
        }

        return price;
    }

    /// <summary>
    /// Adds the cost of <paramref name="offer"/> to the result's metrics (usd_per_hour, $/M units,
    /// $/job) and the offer to its config, once; a result without throughput is left as it is.
    /// </summary>
    public static void Annotate(ResultDocument doc, PriceOffer offer)
    {
        if (Throughput(doc) is null)
        {
            return;
        }

        CostLine line = Compute(doc, offer, "");
        MetricDefinition perMillion = MetricCatalog.CostPerMillion(line.Unit);
        doc.Metrics.Set(MetricCatalog.UsdPerHour, Math.Round(line.Charge.UsdPerHour, 6));
        doc.Metrics.Set(perMillion, Math.Round(line.UsdPerMillion, 6));
        if (line.UsdPerJob is { } job)
        {
            doc.Metrics.Set(MetricCatalog.UsdPerJob, Math.Round(job, 6));
        }

        doc.Config[ConfigKey] = Describe(offer, line.Charge);
        doc.MetricDefinitions[perMillion.Key] = perMillion.Definition + ", where usd_per_hour is the offer's price for the GPUs the run held (config.price.basis)";
        ResultBuilder.Define(doc);
    }
}
