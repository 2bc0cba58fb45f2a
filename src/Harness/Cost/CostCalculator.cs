namespace Harness.Cost;

/// <summary>What an hour of a run costs under one offer, and for how many GPUs.</summary>
public sealed record HourlyCharge(double UsdPerHour, int GpusCharged, string Basis);

/// <summary>
/// The cost formulas, in one place: $ per 1M output units = $/h / (units/s x 3600) x 1e6, and
/// $ per job = $/h / (jobs/s x 3600). A run is charged for the GPUs it held.
/// </summary>
public static class CostCalculator
{
    /// <summary>Hours in an average month (8760 / 12).</summary>
    public const double HoursPerMonth = 730;

    public static double UsdPerMillion(double usdPerHour, double unitsPerSecond)
    {
        if (!(unitsPerSecond > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(unitsPerSecond), unitsPerSecond, "throughput must be positive");
        }

        return usdPerHour / (unitsPerSecond * 3600) * 1e6;
    }

    public static double UsdPerJob(double usdPerHour, double jobsPerSecond)
    {
        if (!(jobsPerSecond > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(jobsPerSecond), jobsPerSecond, "job rate must be positive");
        }

        return usdPerHour / (jobsPerSecond * 3600);
    }

    /// <summary>
    /// The hourly charge of <paramref name="gpusUsed"/> GPUs under an offer: a per-GPU price times
    /// the GPUs (at least one); an instance price split per GPU when the offer says how many it has;
    /// else the whole instance (CPU runs, and command-line prices of a whole machine).
    /// </summary>
    public static HourlyCharge Charge(PriceOffer offer, int gpusUsed)
    {
        if (offer.Price.Basis == PriceBasis.Gpu)
        {
            int gpus = Math.Max(1, gpusUsed);
            return new HourlyCharge(offer.Price.Usd * gpus, gpus, $"{gpus} GPU x {offer.Price.Usd:0.####} USD/gpu-h");
        }

        if (offer.Gpus > 0 && gpusUsed > 0)
        {
            double perGpu = offer.Price.Usd / offer.Gpus;
            return new HourlyCharge(perGpu * gpusUsed, gpusUsed, $"{gpusUsed} of {offer.Gpus} GPUs of {offer.Price.Usd:0.####} USD/h");
        }

        return new HourlyCharge(offer.Price.Usd, offer.Gpus, "whole instance");
    }

    /// <summary>Instances needed to hold <paramref name="gpus"/> GPUs (one for an offer of unknown size).</summary>
    public static int InstancesFor(PriceOffer offer, int gpus) => offer.Gpus > 0 ? (int)Math.Ceiling(gpus / (double)offer.Gpus) : 1;
}
