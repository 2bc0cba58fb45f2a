using System.CommandLine;
using Harness.Projection;

namespace Harness.Cli.Commands;

/// <summary>The projection's two efficiency priors, for users who know their engine better than the defaults.</summary>
internal sealed class PriorOptions
{
    public Option<double?> Decode { get; } = new("--decode-efficiency") { Description = $"Share of the bandwidth ceiling a host-bound decode step's GPU work is assumed to reach (default {ProjectionPriors.Default.DecodeEfficiency})." };

    public Option<double?> Prefill { get; } = new("--prefill-efficiency") { Description = $"Share of the compute ceiling a host-bound prefill is assumed to reach (default {ProjectionPriors.Default.PrefillEfficiency})." };

    public void AddTo(Command command)
    {
        command.Options.Add(Decode);
        command.Options.Add(Prefill);
    }

    public ProjectionPriors Resolve(ParseResult parse)
    {
        double decode = parse.GetValue(Decode) ?? ProjectionPriors.Default.DecodeEfficiency;
        double prefill = parse.GetValue(Prefill) ?? ProjectionPriors.Default.PrefillEfficiency;
        if (decode is <= 0 or > 1 || prefill is <= 0 or > 1)
        {
            throw HarnessException.BadInput("--decode-efficiency and --prefill-efficiency must lie in (0, 1].");
        }

        return ProjectionPriors.Default with { DecodeEfficiency = decode, PrefillEfficiency = prefill };
    }
}
