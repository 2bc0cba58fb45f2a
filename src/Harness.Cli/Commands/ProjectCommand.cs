using System.CommandLine;
using System.Text.Json;
using Harness.Hardware.Catalog;
using Harness.Projection;
using Harness.Results;
using Harness.Trust.Comparability;

namespace Harness.Cli.Commands;

/// <summary><c>harness project RESULT.json --to CARD</c>: a roofline projection of a measured LLM run, calibrated on it.</summary>
public static class ProjectCommand
{
    public static Command Create(TextWriter output)
    {
        var result = new Argument<string>("result") { Description = "A result file of an LLM decode workload." };
        var to = new Option<string>("--to") { Description = "Target card (catalog id or alias): h100, h200, b200, gb200, gb300, mi355x...", Required = true };
        var from = new Option<string?>("--from") { Description = "The measured card, when the result's GPU name is not in the catalog." };
        var tp = new Option<int?>("--tp") { Description = "Tensor-parallel GPUs on the target (default: the fewest that hold the model)." };
        var batch = new Option<int?>("--batch") { Description = "Batch on the target (default: the run's)." };
        var percentile = new Option<string[]>("--percentile") { Description = "Tail percentiles to project beside p50 (default p99).", DefaultValueFactory = _ => ["p99"] };
        var outFile = new Option<string?>("--out", "-o") { Description = "Write the projection as JSON (atomically)." };
        var prices = new PriceOptions();
        var priors = new PriorOptions();
        var command = new Command("project", "Project a measured LLM run to another card: TTFT, TPOT, tokens/s, MFU/MBU, J/token and $/Mtok with error bars.")
        {
            result, to, from, tp, batch, percentile, outFile,
        };
        prices.AddTo(command);
        priors.AddTo(command);
        command.SetAction(parse =>
        {
            string path = parse.GetValue(result)!;
            ResultDocument doc = ResultReader.ReadDocument(path);
            HardwareCatalog catalog = HardwareCatalog.Default;
            HardwareSpec target = catalog.Get(parse.GetValue(to)!);
            (HardwareSpec source, string measuredCard) = MeasuredCard.Resolve(catalog, doc.Hardware, parse.GetValue(from), path);
            LlmRunFacts facts = LlmResultReader.Read(doc, path);
            var selection = prices.Resolve(parse);
            var percentiles = (parse.GetValue(percentile) ?? []).Select(p => p.Trim().ToLowerInvariant()).ToList();
            foreach (string p in percentiles)
            {
                _ = facts.Ttft.At(p);
            }

            ProjectionResult projection = RooflineProjector.Project(facts, source, target, new ProjectionOptions
            {
                TensorParallel = parse.GetValue(tp),
                Batch = parse.GetValue(batch),
                TailPercentiles = percentiles,
                Price = selection.Chosen,
                Offers = selection.Catalog.Current(selection.Policy),
                Priors = priors.Resolve(parse),
            });
            string? o = parse.GetValue(outFile);
            if (o is not null)
            {
                AtomicFile.WriteAllText(o, JsonSerializer.Serialize(projection, ResultJson.Options));
            }

            output.WriteLine(measuredCard);
            output.Write(ProjectionReport.Render(projection, o));
            return ExitCodes.Ok;
        });
        return command;
    }
}
