using System.CommandLine;
using System.Text.Json;
using Harness.Engine;
using Harness.Hardware.Catalog;
using Harness.Models;
using Harness.Planning;
using Harness.Projection;
using Harness.Reports;
using Harness.Results;
using Harness.Trust.Comparability;

namespace Harness.Cli.Commands;

/// <summary><c>harness plan</c>: GPUs, CPU cores, dollars and energy per card type to serve a rate under SLOs.</summary>
public static class PlanCommand
{
    public static Command Create(TextWriter output)
    {
        var workload = new Option<string>("--workload", "-w") { Description = "Result file of the LLM workload to serve.", Required = true };
        var target = new Option<string>("--target", "-t") { Description = "Output rate to serve, e.g. \"50000 tok/s\" or 50k.", Required = true };
        var slo = new Option<string>("--slo") { Description = "Latency objectives, e.g. \"ttft_p99<500ms,tpot_p99<50ms\".", Required = true };
        var agents = new Option<string?>("--agents") { Description = $"An agents sweep (its folder or agents-sweep.json) whose {AgentCpuDemand.MetricName} sizes the CPU cores." };
        var cards = new Option<string>("--cards") { Description = "Cards to compare, comma-separated.", DefaultValueFactory = _ => string.Join(",", CapacityPlanner.DefaultCards) };
        var from = new Option<string?>("--from") { Description = "The measured card, when the result's GPU name is not in the catalog." };
        var dtype = new Option<string?>("--dtype") { Description = "Weight dtype each card serves in: fp8 for all, or per card, e.g. h100=fp8,gb200=fp4 (default: the run's)." };
        var kvDtype = new Option<string?>("--kv-dtype") { Description = "KV cache dtype, for all cards or per card like --dtype (default: the run's)." };
        var model = new Option<string?>("--model") { Description = "Plan another model than the run's (a models/ name or .json path, e.g. llama-70b, gpt-oss-120b) with the run's efficiencies." };
        var maxBatch = new Option<int>("--max-batch") { Description = "Largest batch to consider.", DefaultValueFactory = _ => 256 };
        var answer = new Option<string>("--answer")
        {
            Description = "Which answer: engine (a production engine on each card: device time, the host overhead hidden) or decoder "
                + "(this harness's decoder, the run's host overhead carried over).",
            DefaultValueFactory = _ => ProjectionAnswers.Engine,
        };
        var outFile = new Option<string?>("--out", "-o") { Description = "Write the plan as JSON." };
        var markdown = new Option<string?>("--markdown") { Description = "Write the plan's tables as Markdown." };
        var svg = new Option<string?>("--svg") { Description = "Write a chart comparing the cards as SVG." };
        var html = new Option<string?>("--html") { Description = "Write the plan as a self-contained HTML page: the cards side by side with GPUs, $/month, tokens/s per GPU and power, with the projection's error bars." };
        var prices = new PriceOptions();
        var priors = new PriorOptions();
        var command = new Command("plan", "Size a fleet per card type for a target output rate under SLOs, from a measured run: GPUs, CPU cores, $/h, $/month, energy.")
        {
            workload, target, slo, agents, cards, from, dtype, kvDtype, model, maxBatch, answer, outFile, markdown, svg, html,
        };
        prices.AddTo(command, withInstance: false);
        priors.AddTo(command);
        command.SetAction(parse =>
        {
            string path = parse.GetValue(workload)!;
            HardwareCatalog catalog = HardwareCatalog.Default;
            ProjectionPriors projectionPriors = priors.Resolve(parse);
            (LlmRunFacts facts, HardwareSpec source) = LlmRunInput.Read(path, catalog, parse.GetValue(from), projectionPriors);
            if (parse.GetValue(maxBatch) < 1)
            {
                throw HarnessException.BadInput("--max-batch must be at least 1.");
            }

            var selection = prices.Resolve(parse, withInstance: false);
            var request = new PlanRequest
            {
                Workload = facts,
                Source = source,
                TargetOutputTokensPerS = PlanTarget.ParseTokensPerSecond(parse.GetValue(target)!),
                Slos = ServiceLevelObjective.ParseList(parse.GetValue(slo)!),
                Cards = parse.GetValue(cards)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(catalog.Get).ToList(),
                Prices = selection.Catalog,
                Policy = selection.Policy,
                CpuCoresPerGpu = parse.GetValue(agents) is { } a ? AgentCpuDemand.CoresPerGpu(a) : null,
                MaxBatch = parse.GetValue(maxBatch),
                Priors = projectionPriors,
                Dtype = CardChoice.Parse(parse.GetValue(dtype), "--dtype", catalog),
                KvDtype = CardChoice.Parse(parse.GetValue(kvDtype), "--kv-dtype", catalog),
                Model = parse.GetValue(model) is { } name ? ModelCatalog.Load(name) : null,
                Answer = parse.GetValue(answer)!,
            };
            CapacityPlan plan = CapacityPlanner.Plan(request);
            string statement = MeasuredCard.Statement(catalog, source, path, parse.GetValue(from));
            string md = statement + "\n\n" + PlanReport.Markdown(plan);
            Write(parse.GetValue(outFile), () => JsonSerializer.Serialize(plan, ResultJson.Options));
            Write(parse.GetValue(markdown), () => md);
            Write(parse.GetValue(svg), () => PlanView.Svg(plan));
            Write(parse.GetValue(html), () => PlanView.Render(plan, statement));
            output.Write(md);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void Write(string? path, Func<string> contents)
    {
        if (path is not null)
        {
            AtomicFile.WriteAllText(path, contents());
        }
    }
}
