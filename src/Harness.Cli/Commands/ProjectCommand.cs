using System.CommandLine;
using System.Text.Json;
using Harness.Hardware.Catalog;
using Harness.Models;
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
        var ep = new Option<int?>("--ep")
        {
            Description = "Expert-parallel GPUs per stage on the target, a multiple of --tp (mixtures of experts; default 1).",
        };
        var pp = new Option<int?>("--pp")
        {
            Description = "Pipeline stages on the target, across scale-up domains when a replica outgrows one (default 1).",
        };
        var batch = new Option<string?>("--batch") { Description = "Batch on the target: a number, or max (the largest whose KV cache fits beside the weights); default the run's." };
        var dtype = new Option<string?>("--dtype") { Description = $"Weight dtype on the target: {string.Join(", ", Precision.Names)} (default: the run's)." };
        var kvDtype = new Option<string?>("--kv-dtype") { Description = "KV cache dtype on the target (default: the run's)." };
        var model = new Option<string?>("--model") { Description = "Project another model than the run's (a models/ name or .json path, e.g. llama-70b, gpt-oss-120b): its FLOPs, bytes and memory, the run's efficiencies." };
        var percentile = new Option<string[]>("--percentile") { Description = "Tail percentiles to project beside p50 (default p99).", DefaultValueFactory = _ => ["p99"] };
        var answer = new Option<string?>("--answer")
        {
            Description = "Which answer: engine (a production engine on the target: device time, the host overhead hidden) or decoder "
                + "(this harness's decoder, the run's host overhead carried over); "
                + "default decoder on the measured card, engine on another.",
        };
        var outFile = new Option<string?>("--out", "-o") { Description = "Write the projection as JSON (atomically)." };
        var prices = new PriceOptions();
        var priors = new PriorOptions();
        var command = new Command("project", "Project a measured LLM run to another card: TTFT, TPOT, tokens/s, MFU/MBU, J/token and $/Mtok with error bars.")
        {
            result, to, from, tp, ep, pp, batch, dtype, kvDtype, model, percentile,
            answer, outFile,
        };
        prices.AddTo(command);
        priors.AddTo(command);
        command.SetAction(parse =>
        {
            string path = parse.GetValue(result)!;
            HardwareCatalog catalog = HardwareCatalog.Default;
            HardwareSpec target = catalog.Get(parse.GetValue(to)!);
            ProjectionPriors projectionPriors = priors.Resolve(parse);
            (LlmRunFacts facts, HardwareSpec source) = LlmRunInput.Read(path, catalog, parse.GetValue(from), projectionPriors);
            (int? batchSize, bool fill) = ParseBatch(parse.GetValue(batch));
            var selection = prices.Resolve(parse);
            var percentiles = (parse.GetValue(percentile) ?? []).Select(p => p.Trim().ToLowerInvariant()).ToList();
            foreach (string p in percentiles)
            {
                _ = facts.Ttft.At(p);
            }

            ProjectionResult projection = RooflineProjector.Project(facts, source, target, new ProjectionOptions
            {
                TensorParallel = parse.GetValue(tp),
                ExpertParallel = parse.GetValue(ep),
                PipelineParallel = parse.GetValue(pp),
                Batch = batchSize,
                FillMemory = fill,
                Dtype = parse.GetValue(dtype),
                KvDtype = parse.GetValue(kvDtype),
                Model = parse.GetValue(model) is { } name ? ModelCatalog.Load(name) : null,
                TailPercentiles = percentiles,
                Price = selection.Chosen,
                Offers = selection.Catalog.Current(selection.Policy),
                Priors = projectionPriors,
                Answer = parse.GetValue(answer),
            });
            string? o = parse.GetValue(outFile);
            if (o is not null)
            {
                AtomicFile.WriteAllText(o, JsonSerializer.Serialize(projection, ResultJson.Options));
            }

            output.WriteLine(MeasuredCard.Statement(catalog, source, path, parse.GetValue(from)));
            output.Write(ProjectionReport.Render(projection, o));
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>"64" or "max" (fill the memory); null keeps the run's batch.</summary>
    internal static (int? Batch, bool Fill) ParseBatch(string? text)
    {
        if (text is null)
        {
            return (null, false);
        }

        if (text.Trim().Equals("max", StringComparison.OrdinalIgnoreCase))
        {
            return (null, true);
        }

        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int b) && b >= 1
            ? (b, false)
            : throw HarnessException.BadInput($"--batch '{text}' is neither a positive whole number nor max.");
    }
}
