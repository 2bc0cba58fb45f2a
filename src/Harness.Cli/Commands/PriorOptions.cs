using System.CommandLine;
using Harness.Projection;

namespace Harness.Cli.Commands;

/// <summary>The projection's two efficiency priors, for users who know their engine better than the defaults.</summary>
internal sealed class PriorOptions
{
    public Option<double?> Decode { get; } = new("--decode-efficiency") { Description = $"Share of the bandwidth ceiling a host-bound decode step's GPU work is assumed to reach (default {ProjectionPriors.Default.DecodeEfficiency})." };

    public Option<double?> Prefill { get; } = new("--prefill-efficiency") { Description = $"Share of the compute ceiling a host-bound prefill is assumed to reach (default {ProjectionPriors.Default.PrefillEfficiency})." };

    public Option<double?> Fp4Compute { get; } = new("--fp4-compute-efficiency")
    {
        Description = "Share of the run's compute efficiency fp4 products keep where no card measured fp4 "
            + $"(default {ProjectionPriors.Default.Fp4ComputeEfficiency}, fitted on the calibration set).",
    };

    public Option<double?> Fp4Bandwidth { get; } = new("--fp4-bandwidth-efficiency")
    {
        Description = $"The same for the bandwidth term (default {ProjectionPriors.Default.Fp4BandwidthEfficiency}, "
            + "fitted on the calibration set).",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Decode);
        command.Options.Add(Prefill);
        command.Options.Add(Fp4Compute);
        command.Options.Add(Fp4Bandwidth);
    }

    public ProjectionPriors Resolve(ParseResult parse)
    {
        double decode = parse.GetValue(Decode) ?? ProjectionPriors.Default.DecodeEfficiency;
        double prefill = parse.GetValue(Prefill) ?? ProjectionPriors.Default.PrefillEfficiency;
        if (decode is <= 0 or > 1 || prefill is <= 0 or > 1)
        {
            throw HarnessException.BadInput("--decode-efficiency and --prefill-efficiency must lie in (0, 1].");
        }

        double fp4c = parse.GetValue(Fp4Compute) ?? ProjectionPriors.Default.Fp4ComputeEfficiency;
        double fp4b = parse.GetValue(Fp4Bandwidth) ?? ProjectionPriors.Default.Fp4BandwidthEfficiency;
        if (fp4c is <= 0 or > 2 || fp4b is <= 0 or > 2)
        {
            throw HarnessException.BadInput("--fp4-compute-efficiency and --fp4-bandwidth-efficiency must lie in (0, 2].");
        }

        return ProjectionPriors.Default with
        {
            DecodeEfficiency = decode, PrefillEfficiency = prefill, Fp4ComputeEfficiency = fp4c, Fp4BandwidthEfficiency = fp4b,
        };
    }
}
