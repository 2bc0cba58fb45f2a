using System.CommandLine;
using Harness.Cost;
using Harness.Hardware.Catalog;

namespace Harness.Cli.Commands;

/// <summary>The price options shared by run, cost, project and plan: declared once, resolved by the core.</summary>
internal sealed class PriceOptions
{
    public Option<string?> Instance { get; } = new("--instance") { Description = "Catalog offer to price on: aws/p5.48xlarge or p5.48xlarge ('harness cost RESULT --all' lists them)." };

    public Option<string?> Price { get; } = new("--price") { Description = $"Price to apply instead: {PriceArgument.Help}." };

    public Option<string?> PricesFile { get; } = new("--prices") { Description = "Price file laid over the catalog (catalog/prices.json format; each price needs a unit, a date and USD)." };

    public Option<int> MaxAgeDays { get; } = new("--max-price-age") { Description = "Days a price stays usable; older ones are refused or left out.", DefaultValueFactory = _ => PriceAgePolicy.DefaultMaxAgeDays };

    public void AddTo(Command command, bool withInstance = true)
    {
        if (withInstance)
        {
            command.Options.Add(Instance);
        }

        command.Options.Add(Price);
        command.Options.Add(PricesFile);
        command.Options.Add(MaxAgeDays);
    }

    public PriceSelection Resolve(ParseResult parse, bool withInstance = true) => PriceSelection.Resolve(
        withInstance ? parse.GetValue(Instance) : null,
        parse.GetValue(Price),
        parse.GetValue(PricesFile),
        PriceAgePolicy.Now(parse.GetValue(MaxAgeDays)),
        HardwareCatalog.Default);
}
