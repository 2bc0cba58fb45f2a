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
/// Cost of a measured result. The throughput is the result's output tokens/s (metrics extra
/// "output_tokens_per_s", else throughput_per_s) or samples/s; an agent result's job rate is
/// "jobs_per_s" (or a throughput counted in jobs).
/// </summary>
public static class ResultCost
{
    /// <summary>The config key under which <c>harness run --instance/--price</c> passes the price.</summary>
    public const string ConfigKey = "price";

    public const string Definition = "usd_per_hour / (output units per second x 3600) x 1e6, where usd_per_hour is the offer's price for the GPUs the run held (price.basis)";

    /// <summary>GPUs the run held: config gpus or tp, else 1 for a CUDA backend, else 0 (the whole machine is charged).</summary>
    public static int GpusUsed(ResultDocument doc)
    {
        if (DocumentValues.FirstNumber(doc.Config, "gpus", "tp", "tensor_parallel") is { } n && n >= 1)
        {
            return (int)n;
        }

        return doc.Backend.Contains(":cuda", StringComparison.OrdinalIgnoreCase) ? 1 : 0;
    }

    /// <summary>Output units per second and their unit ("tokens", "samples"...); null when the result has none.</summary>
    public static (double PerSecond, string Unit)? Throughput(ResultDocument doc)
    {
        if (DocumentValues.ExtraNumber(doc.Metrics, "output_tokens_per_s") is { } tps && tps > 0)
        {
            return (tps, "tokens");
        }

        return doc.Metrics.ThroughputPerS > 0 ? (doc.Metrics.ThroughputPerS, doc.Metrics.ThroughputUnit) : null;
    }

    public static double? JobsPerSecond(ResultDocument doc) =>
        DocumentValues.ExtraNumber(doc.Metrics, "jobs_per_s")
        ?? (doc.Metrics.ThroughputUnit == "jobs" && doc.Metrics.ThroughputPerS > 0 ? doc.Metrics.ThroughputPerS : null);

    /// <summary>The metric name of the cost per million units: usd_per_mtok for tokens, else usd_per_m_&lt;unit&gt;.</summary>
    public static string MetricName(string unit) => unit == "tokens" ? "usd_per_mtok" : $"usd_per_m_{unit}";

    public static CostLine Compute(ResultDocument doc, PriceOffer offer, string origin)
    {
        if (Throughput(doc) is not { } t)
        {
            throw HarnessException.BadInput($"Result {origin} has no throughput to put a cost on.");
        }

        HourlyCharge charge = CostCalculator.Charge(offer, GpusUsed(doc));
        double? perJob = JobsPerSecond(doc) is { } jobs ? CostCalculator.UsdPerJob(charge.UsdPerHour, jobs) : null;
        return new CostLine(offer, charge, t.PerSecond, t.Unit, CostCalculator.UsdPerMillion(charge.UsdPerHour, t.PerSecond), perJob);
    }

    /// <summary>Adds the cost of <paramref name="offer"/> to the result's metrics; a result without throughput is left as it is.</summary>
    public static void Annotate(ResultDocument doc, PriceOffer offer)
    {
        if (Throughput(doc) is null)
        {
            return;
        }

        CostLine line = Compute(doc, offer, "");
        doc.Metrics.Extra ??= [];
        string name = MetricName(line.Unit);
        doc.Metrics.Extra["usd_per_hour"] = Math.Round(line.Charge.UsdPerHour, 6);
        doc.Metrics.Extra[name] = Math.Round(line.UsdPerMillion, 6);
        if (line.UsdPerJob is { } job)
        {
            doc.Metrics.Extra["usd_per_job"] = Math.Round(job, 6);
        }

        doc.Metrics.Extra["price"] = new Dictionary<string, object?>
        {
            ["instance"] = offer.Id,
            ["device"] = offer.Device,
            ["pricing"] = offer.Pricing,
            ["value"] = offer.Price.Usd,
            ["unit"] = offer.Price.Unit,
            ["date"] = offer.Price.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            ["source"] = offer.Price.Source,
            ["gpus_charged"] = line.Charge.GpusCharged,
            ["basis"] = line.Charge.Basis,
        };
        doc.MetricDefinitions[name] = Definition;
        if (line.UsdPerJob is not null)
        {
            doc.MetricDefinitions["usd_per_job"] = "usd_per_hour / (jobs per second x 3600)";
        }
    }
}
