using System.CommandLine;
using System.Text.Json;
using Harness.Cost;
using Harness.Hardware.Catalog;
using Harness.Results;

namespace Harness.Cli.Commands;

/// <summary><c>harness cost RESULT.json</c>: $ per million output tokens of a measured run on catalog offers or a given price.</summary>
public static class CostCommand
{
    public static Command Create(TextWriter output)
    {
        var result = new Argument<string>("result") { Description = "A result file of 'harness run'." };
        var all = new Option<bool>("--all") { Description = "Every current catalog offer, not only those of the card the run used." };
        var outFile = new Option<string?>("--out", "-o") { Description = "Also write the cost lines as JSON." };
        var prices = new PriceOptions();
        var command = new Command(
            "cost",
            "Cost per 1M output tokens (and per agent job) of a result: on the price it ran with, else its card's catalog offers; "
            + "or on --instance, --price or --all.")
        {
            result, all, outFile,
        };
        prices.AddTo(command);
        command.SetAction(parse =>
        {
            string path = parse.GetValue(result)!;
            ResultDocument doc = ResultReader.ReadDocument(path);
            PriceSelection selection = prices.Resolve(parse);
            HardwareSpec? card = HardwareCatalog.Default.Match(doc.Hardware);
            IReadOnlyList<PriceOffer> offers;
            if (selection.Chosen is null && !parse.GetValue(all) && ResultCost.Recorded(doc, path) is { } recorded)
            {
                output.Write(CostReport.RecordedLine(recorded));
                output.Write(CostReport.Markdown(path, card?.Id, [recorded], []));
                WriteJson(parse.GetValue(outFile), [recorded]);
                return ExitCodes.Ok;
            }

            if (selection.Chosen is { } chosen)
            {
                offers = [chosen];
            }
            else if (parse.GetValue(all))
            {
                offers = selection.Catalog.Current(selection.Policy);
            }
            else if (card is not null && selection.Catalog.ForDevice(card.Id, selection.Policy) is { Count: > 0 } mine)
            {
                offers = mine;
            }
            else
            {
                throw HarnessException.BadInput(
                    $"The catalog has no current offer for the card of {path} ({card?.Id ?? "unknown"}) and the result no price of its own "
                    + "(config.price); give --instance NAME, --price (e.g. 98.32/h) or --all.");
            }

            var lines = offers.Select(o => ResultCost.Compute(doc, o, path)).ToList();
            output.Write(CostReport.Markdown(path, card?.Id, lines, selection.Chosen is null ? selection.Catalog.Stale(selection.Policy) : []));
            WriteJson(parse.GetValue(outFile), lines);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void WriteJson(string? file, IReadOnlyList<CostLine> lines)
    {
        if (file is not null)
        {
            AtomicFile.WriteAllText(file, JsonSerializer.Serialize(lines, ResultJson.Options));
        }
    }
}
